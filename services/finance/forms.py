"""From what people type on the calculator pages to calculation parameters (percent -> fraction,
table rows -> cash flows, a pasted spreadsheet column -> numbers).

Errors here name the input by the label people see on the page ("Discount rate mean must be between
-99 % and 100 %"), never by the parameter behind it (`discount_rate.mean`): the page shows the message
next to the form, so it has to point at a box on the screen. The WebSocket API keeps the parameter
names (services.finance.validate), since its callers write parameters, not forms.
"""
from __future__ import annotations

import re

from services.finance.validate import MAX_SCENARIOS, FinanceError

NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")
RATE_PERCENT = (-99.0, 1000.0)       # a per-period rate anyone can mean, in %
GROWTH_PERCENT = (-99.0, 100.0)
SPREAD_PERCENT = (0.0, 100.0)        # standard deviations, in % points
MAX_SEED = 2**63 - 1

# The Monte Carlo form: key -> the label the page shows (percent fields add " %" to it).
MONTE_CARLO_LABELS = {
    "flows": "Base cash flows", "rate_mean": "Discount rate mean", "rate_std": "Discount rate std",
    "inv_low": "Investment low", "inv_mode": "Investment most likely", "inv_high": "Investment high",
    "growth_low": "Growth low", "growth_high": "Growth high", "factor_std": "Cash-flow factor std",
    "scenarios": "Scenarios", "seed": "Seed",
}


def _shown(value: float) -> str:
    """A bound or a typed value in a message: 1000 -> "1,000", -2.5 -> "-2.5"."""
    return f"{value:,.10g}" if abs(value) < 1e15 else f"{value:.4g}"


def number(value, label: str, low: float | None = None, high: float | None = None, unit: str = "") -> float:
    """A typed number, required, within [low, high] when given: errors say the label and the bounds."""
    if value is None or value == "":
        raise FinanceError(label, f"{label} is empty: enter a number.")
    if isinstance(value, bool):
        raise FinanceError(label, f"{label} must be a number.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise FinanceError(label, f"{label} must be a number.") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise FinanceError(label, f"{label} must be a finite number.")
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            raise FinanceError(label, f"{label} must be at least {_shown(low)}{unit} (got {_shown(value)}{unit}).")
        if low is None:
            raise FinanceError(label, f"{label} must be at most {_shown(high)}{unit} (got {_shown(value)}{unit}).")
        raise FinanceError(label, f"{label} must be between {_shown(low)}{unit} and {_shown(high)}{unit} "
                                  f"(got {_shown(value)}{unit}).")
    return value


def percent(value, label: str, low: float | None = None, high: float | None = None) -> float:
    """A percentage typed as 10 or 10.5 -> 0.10 / 0.105; the bounds are in % too."""
    if value is None or value == "":
        raise FinanceError(label, f"{label} is empty: enter a percentage.")
    return number(value, label, low, high, unit="\u00a0%") / 100.0


def whole(value, label: str, low: int, high: int) -> int:
    """A whole number within [low, high] (scenarios, a seed)."""
    number(value, label)
    if float(value) != int(float(value)) or not low <= int(float(value)) <= high:
        raise FinanceError(label, f"{label} must be a whole number between {low:,} and {high:,} "
                                  f"(got {_shown(float(value))}).")
    return int(float(value))


def positive(value, label: str, why: str = "") -> float:
    """A number above 0 (a cost ROI divides by, a number of years)."""
    value = number(value, label)
    if value <= 0:
        raise FinanceError(label, f"{label} must be above 0{why} (got {_shown(value)}).")
    return value


def parse_number(text, field: str) -> float:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    raw = str(text or "").strip().replace(" ", "").replace("\u00a0", "")
    negative = raw.startswith("(") and raw.endswith(")")       # accounting style (1,000)
    raw = raw.strip("()").lstrip("$€£")
    if not NUMBER.match(raw):
        raise FinanceError(field, f"{field}: {str(text)[:30]!r} is not a number.")
    value = float(raw.replace(",", ""))
    return -value if negative else value


def pasted_column(text: str, label: str = "Pasted column") -> list[float]:
    """Numbers from a column copied out of a spreadsheet (one per line; tabs/semicolons split too)."""
    cells = [c for c in re.split(r"[\r\n\t;]+", text or "") if c.strip()]
    if not cells:
        raise FinanceError(label, f"{label}: paste a column of numbers (one per line).")
    if len(cells) > 1000:
        raise FinanceError(label, f"{label}: {len(cells):,} values pasted; at most 1,000 periods are allowed.")
    return [parse_number(c, f"{label}, line {i + 1}") for i, c in enumerate(cells)]


def table_flows(rows: list[dict]) -> tuple[list[float], list[str] | None]:
    """(cash flows, dates or None) from the editable table: every row needs a cash flow; dates are
    used (XNPV/XIRR) only when every row has one."""
    flows, dates = [], []
    for i, row in enumerate(rows or []):
        flows.append(parse_number(row.get("cash_flow"), f"Period {i + 1} cash flow"))
        dates.append(str(row.get("date") or "").strip())
    if not flows:
        raise FinanceError("cash_flows", "Add at least one period with a cash flow.")
    return flows, dates if all(dates) else None


def monte_carlo_parameters(form: dict) -> dict:
    """The Monte Carlo form (keys of MONTE_CARLO_LABELS, values as typed) -> monte_carlo parameters,
    every problem reported with the label of its box. An empty seed means a fresh random one."""
    label = MONTE_CARLO_LABELS
    flows = pasted_column(form.get("flows") or "", label["flows"])
    rate_mean = percent(form.get("rate_mean"), label["rate_mean"], *RATE_PERCENT)
    rate_std = percent(form.get("rate_std"), label["rate_std"], *SPREAD_PERCENT)
    low, mode, high = (number(form.get(k), label[k]) for k in ("inv_low", "inv_mode", "inv_high"))
    if not low <= mode <= high or low == high:
        raise FinanceError("inv_mode", f"{label['inv_low']} must be below {label['inv_high']}, with "
                                       f"{label['inv_mode']} between them (got {_shown(low)}, {_shown(mode)}, "
                                       f"{_shown(high)}).")
    g_low, g_high = (percent(form.get(k), label[k], *GROWTH_PERCENT) for k in ("growth_low", "growth_high"))
    if not g_low < g_high:
        raise FinanceError("growth_low", f"{label['growth_low']} must be below {label['growth_high']}.")
    factor_std = percent(form.get("factor_std"), label["factor_std"], *SPREAD_PERCENT)
    seed = form.get("seed")
    return {"cash_flows": flows, "scenarios": whole(form.get("scenarios"), label["scenarios"], 1, MAX_SCENARIOS),
            "seed": None if seed is None or seed == "" else whole(seed, label["seed"], 0, MAX_SEED),
            "discount_rate": {"dist": "normal", "mean": rate_mean, "std": rate_std},
            "initial_investment": {"dist": "triangular", "low": low, "mode": mode, "high": high},
            "growth": {"dist": "uniform", "low": g_low, "high": g_high},
            "cash_flow_factor": {"dist": "normal", "mean": 1.0, "std": factor_std}}
