"""The event schema: what a source may send, and the checked, normalised form the pipeline uses.

Validation is strict about types (a store number is an integer, sales are a finite number) and
lenient where producers differ harmlessly (an integral float store id, `true`/`1` for a holiday,
a timestamp without an offset is read as UTC). Every rejection names the field and the reason so
that it can be counted and logged, and so a REST producer can be told exactly what to fix.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

RETAIL_REQUIRED = ("event_id", "timestamp", "store", "dept", "weekly_sales", "temperature", "is_holiday")
RETAIL_OPTIONAL = ("fuel_price", "cpi", "unemployment")
MAX_ID_LENGTH = 128
DEFAULT_TENANT = "default"


class EventError(ValueError):
    """An event failed validation. `field` names the offending field, `reason` says why."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _finite(raw: dict, name: str, required: bool = True) -> float | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise EventError(name, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventError(name, f"must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise EventError(name, "must be finite (NaN and Infinity are not allowed)")
    return value


def _positive_int(raw: dict, name: str) -> int:
    value = raw.get(name)
    if value is None:
        raise EventError(name, "is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventError(name, f"must be an integer, got {type(value).__name__}")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise EventError(name, "must be an integer")
    if not 0 < value < 2**31:
        raise EventError(name, "must be between 1 and 2147483647")
    return int(value)


def _flag(raw: dict, name: str) -> int:
    value = raw.get(name)
    if value in (True, 1) and not isinstance(value, float):
        return 1
    if value in (False, 0) and not isinstance(value, float):
        return 0
    raise EventError(name, "must be true/false or 1/0")


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime (naive input is taken as UTC)."""
    if not isinstance(value, str) or not value:
        raise EventError("timestamp", "must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventError("timestamp", f"is not ISO 8601: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with millisecond precision and a Z suffix, the form every message uses."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def validate_event(raw: Any, tenant: str | None = None) -> dict:
    """Check one raw retail event and return its normalised form.

    `tenant`, when given, overrides anything in the payload: it comes from the authenticated
    source, never from the client.
    """
    if not isinstance(raw, dict):
        raise EventError("event", f"must be a JSON object, got {type(raw).__name__}")
    event_id = raw.get("event_id")
    if not isinstance(event_id, str) or not event_id.strip():
        raise EventError("event_id", "is required and must be a non-empty string")
    if len(event_id) > MAX_ID_LENGTH:
        raise EventError("event_id", f"must be at most {MAX_ID_LENGTH} characters")
    moment = parse_timestamp(raw.get("timestamp"))
    if tenant is None:
        tenant = raw.get("tenant", DEFAULT_TENANT)
        if not isinstance(tenant, str) or not tenant:
            raise EventError("tenant", "must be a non-empty string")
    return {
        "event_id": event_id,
        "timestamp": format_timestamp(moment),
        "ts": moment.timestamp(),
        "tenant": tenant,
        "store": _positive_int(raw, "store"),
        "dept": _positive_int(raw, "dept"),
        "weekly_sales": _finite(raw, "weekly_sales"),
        "temperature": _finite(raw, "temperature"),
        "is_holiday": _flag(raw, "is_holiday"),
        "fuel_price": _finite(raw, "fuel_price", required=False),
        "cpi": _finite(raw, "cpi", required=False),
        "unemployment": _finite(raw, "unemployment", required=False),
    }
