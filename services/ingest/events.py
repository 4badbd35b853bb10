"""The event schema: what a source may send, and the checked, normalised form the pipeline uses.

Two profiles share the envelope (`event_id`, `timestamp`, `tenant`): **retail** events (a store and
department's weekly sales) and **sensor** events (a reading of one sensor on one asset; an event
with an `asset_id` is a sensor event). Validation is strict about types (a store number is an
integer, values are finite numbers) and lenient where producers differ harmlessly (an integral
float store id, `true`/`1` for a holiday, a timestamp without an offset is read as UTC). Every
rejection names the field and the reason, so it can be counted and logged, and a REST producer
can be told exactly what to fix.

This runs for every event in every worker, so the common case (a well-typed event, usually one
we normalised ourselves) takes a fast path; anything else falls through to the checks that
explain what is wrong.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from services.timestamps import format_timestamp

RETAIL_REQUIRED = ("event_id", "timestamp", "store", "dept", "weekly_sales", "temperature", "is_holiday")
RETAIL_OPTIONAL = ("fuel_price", "cpi", "unemployment")
SENSOR_REQUIRED = ("event_id", "timestamp", "asset_id", "sensor_id", "sensor_type", "value")
SENSOR_OPTIONAL = ("unit", "quality")
QUALITIES = ("good", "uncertain", "bad")
MAX_ID_LENGTH = 128
MAX_NAME_LENGTH = 64
MAX_UNIT_LENGTH = 16
DEFAULT_TENANT = "default"
_INF = float("inf")


class EventError(ValueError):
    """An event failed validation. `field` names the offending field, `reason` says why."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _finite(raw: dict, name: str, required: bool = True) -> float | None:
    value = raw.get(name)
    if type(value) is float and -_INF < value < _INF:    # fast path (NaN fails the comparison too)
        return value
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
    if type(value) is int and 0 < value < 2**31:           # fast path
        return value
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


def _name(raw: dict, name: str, limit: int = MAX_NAME_LENGTH, required: bool = True) -> str:
    value = raw.get(name)
    if type(value) is str and 0 < len(value) <= limit and value.strip():
        return value.strip()
    if value is None and not required:
        return ""
    if value is None:
        raise EventError(name, "is required")
    if not isinstance(value, str):
        raise EventError(name, f"must be a string, got {type(value).__name__}")
    raise EventError(name, f"must be 1-{limit} characters")


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


def normal_timestamp(value: Any) -> str:
    """`value` checked and in the canonical form; one already canonical is only parsed, not rebuilt."""
    moment = parse_timestamp(value)
    if len(value) == 24 and value[-1] == "Z" and value[10] == "T" and value[19] == ".":
        return value
    return format_timestamp(moment)


def validate_event(raw: Any, tenant: str | None = None) -> dict:
    """Check one raw event (retail or sensor) and return its normalised form.

    `tenant`, when given, overrides anything in the payload: it comes from the authenticated
    source, never from the client.
    """
    if type(raw) is not dict:
        raise EventError("event", f"must be a JSON object, got {type(raw).__name__}")
    event_id = raw.get("event_id")
    if type(event_id) is not str or not 0 < len(event_id) <= MAX_ID_LENGTH or not event_id.strip():
        if isinstance(event_id, str) and len(event_id) > MAX_ID_LENGTH:
            raise EventError("event_id", f"must be at most {MAX_ID_LENGTH} characters")
        raise EventError("event_id", "is required and must be a non-empty string")
    timestamp = normal_timestamp(raw.get("timestamp"))
    if tenant is None:
        tenant = raw.get("tenant", DEFAULT_TENANT)
        if not isinstance(tenant, str) or not tenant:
            raise EventError("tenant", "must be a non-empty string")
    if "asset_id" in raw:
        return _sensor(raw, event_id, timestamp, tenant)
    return {
        "profile": "retail",
        "event_id": event_id,
        "timestamp": timestamp,
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


def _sensor(raw: dict, event_id: str, timestamp: str, tenant: str) -> dict:
    quality = raw.get("quality", "good")
    if not isinstance(quality, str) or quality.lower() not in QUALITIES:
        raise EventError("quality", f"must be one of {', '.join(QUALITIES)}")
    return {
        "profile": "sensor",
        "event_id": event_id,
        "timestamp": timestamp,
        "tenant": tenant,
        "asset_id": _name(raw, "asset_id"),
        "sensor_id": _name(raw, "sensor_id"),
        "sensor_type": _name(raw, "sensor_type").lower(),
        "value": _finite(raw, "value"),
        "unit": _name(raw, "unit", MAX_UNIT_LENGTH, required=False),
        "quality": quality.lower(),
    }
