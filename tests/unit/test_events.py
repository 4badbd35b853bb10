"""Event schema validation: every rejection names the field; normalisation is predictable."""
import math

import pytest

from services.ingest.events import EventError, validate_event

GOOD = {"event_id": "e1", "timestamp": "2026-01-05T10:00:00Z", "store": 1, "dept": 2,
        "weekly_sales": 15000.5, "temperature": 42.3, "is_holiday": 0}


def test_valid_event_is_normalised():
    e = validate_event(dict(GOOD, is_holiday=True, store=3.0, fuel_price=3.1))
    assert e["store"] == 3 and isinstance(e["store"], int)
    assert e["is_holiday"] == 1
    assert e["tenant"] == "default"
    assert e["timestamp"] == "2026-01-05T10:00:00.000Z"
    assert e["fuel_price"] == 3.1 and e["cpi"] is None


def test_offsets_are_converted_to_utc_and_naive_is_utc():
    assert validate_event(dict(GOOD, timestamp="2026-01-05T12:00:00+02:00"))["timestamp"] == "2026-01-05T10:00:00.000Z"
    assert validate_event(dict(GOOD, timestamp="2026-01-05T10:00:00"))["timestamp"] == "2026-01-05T10:00:00.000Z"


def test_tenant_from_source_overrides_payload():
    assert validate_event(dict(GOOD, tenant="evil"), tenant="acme")["tenant"] == "acme"


@pytest.mark.parametrize("change, field", [
    ({"event_id": ""}, "event_id"),
    ({"event_id": 5}, "event_id"),
    ({"event_id": "x" * 129}, "event_id"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"timestamp": 1700000000}, "timestamp"),
    ({"store": "1"}, "store"),
    ({"store": True}, "store"),
    ({"store": 0}, "store"),
    ({"store": 1.5}, "store"),
    ({"dept": None}, "dept"),
    ({"weekly_sales": "100"}, "weekly_sales"),
    ({"weekly_sales": math.nan}, "weekly_sales"),
    ({"weekly_sales": math.inf}, "weekly_sales"),
    ({"temperature": None}, "temperature"),
    ({"is_holiday": "yes"}, "is_holiday"),
    ({"is_holiday": 2}, "is_holiday"),
    ({"is_holiday": 1.0}, "is_holiday"),
    ({"cpi": "high"}, "cpi"),
    ({"tenant": ""}, "tenant"),
])
def test_invalid_fields_are_named(change, field):
    with pytest.raises(EventError) as info:
        validate_event(dict(GOOD, **change))
    assert info.value.field == field
    assert info.value.reason


def test_missing_required_field_is_named():
    raw = dict(GOOD)
    del raw["weekly_sales"]
    with pytest.raises(EventError, match="weekly_sales: is required"):
        validate_event(raw)


@pytest.mark.parametrize("raw", [None, [], "event", 5])
def test_non_objects_are_rejected(raw):
    with pytest.raises(EventError) as info:
        validate_event(raw)
    assert info.value.field == "event"
