"""Checking calculator inputs: every bad value becomes a FinanceError naming the field and the fix.

The page shows the message inline, the WebSocket answers a `failed` calculation_update with it,
so the messages are written for people: what is wrong and what is allowed.
"""
from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np

MAX_PERIODS = 1000
MAX_SCENARIOS = 1_000_000


class FinanceError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def number(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FinanceError(field, f"{field} must be a number.")
    value = float(value)
    if not math.isfinite(value):
        raise FinanceError(field, f"{field} must be finite (not NaN or infinity).")
    return value


def rate(value, field: str = "discount_rate") -> float:
    """A per-period rate as a fraction (0.1 = 10 %); must be above -100 %."""
    value = number(value, field)
    if value <= -1:
        raise FinanceError(field, f"{field} must be above -100 % (got {value:.4g}).")
    if value > 100:
        raise FinanceError(field, f"{field} of {value:.4g} (x100 %) is not a plausible rate.")
    return value


def flows(values, field: str = "cash_flows", min_length: int = 1) -> np.ndarray:
    if not isinstance(values, (list, tuple, np.ndarray)) or len(values) == 0:
        raise FinanceError(field, f"{field} must be a non-empty list of numbers.")
    if len(values) > MAX_PERIODS + 1:
        raise FinanceError(field, f"{field} has {len(values):,} values; at most {MAX_PERIODS + 1:,} are allowed.")
    out = np.array([number(v, f"{field}[{i}]") for i, v in enumerate(values)], dtype=float)
    if len(out) < min_length:
        raise FinanceError(field, f"{field} needs at least {min_length} values.")
    return out


def dates(values, count: int, field: str = "dates") -> np.ndarray:
    """ISO dates, one per cash flow, not before the first: day offsets from the first as floats."""
    if not isinstance(values, (list, tuple)) or len(values) != count:
        raise FinanceError(field, f"{field} must list one ISO date per cash flow ({count}).")
    parsed = []
    for i, v in enumerate(values):
        try:
            parsed.append(v if isinstance(v, date) else datetime.fromisoformat(str(v)).date())
        except ValueError:
            raise FinanceError(field, f"{field}[{i}] is not an ISO date: {str(v)[:30]!r}.") from None
    days = np.array([(d - parsed[0]).days for d in parsed], dtype=float)
    if (days < 0).any():
        raise FinanceError(field, f"{field}: no date may be before the first one (t=0).")
    return days


def count(value, field: str, maximum: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
        raise FinanceError(field, f"{field} must be a whole number.")
    value = int(value)
    if not minimum <= value <= maximum:
        raise FinanceError(field, f"{field} must be between {minimum:,} and {maximum:,} (got {value:,}).")
    return value
