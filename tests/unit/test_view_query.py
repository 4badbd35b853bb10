"""What a shared address means (components/explore.py) and how the server writes times (components/times.py)."""
from datetime import datetime, timezone

from components.explore import entity_options, selection_from_query, view_from_query
from components.times import time_cell, time_text


def test_a_view_is_read_from_the_address_as_dash_passes_it():
    assert selection_from_query({"store": "5,7", "dept": ["3", "3"]}, ("store", "dept")) == {"store": [5, 7], "dept": [3]}
    assert selection_from_query({"store": "x,-1,0,9", "dept": ""}, ("store", "dept")) == {"store": [9], "dept": []}
    assert selection_from_query({"asset_id": "pump-01,<b>"}, ("asset_id", "sensor_id")) == \
        {"asset_id": ["<b>", "pump-01"], "sensor_id": []}
    assert view_from_query({}) == {"range": "live", "from": None, "to": None, "clock": "received"}
    assert view_from_query({"range": "7d", "time": "event"})["range"] == "7d"
    assert view_from_query({"range": "7d", "time": "event"})["clock"] == "event"
    assert view_from_query({"range": "nope"}, default_range="1h")["range"] == "1h"
    custom = view_from_query({"range": "custom", "from": "2026-12-01T08:00:00Z"})
    assert custom == {"range": "custom", "from": "2026-12-01T08:00:00Z", "to": None, "clock": "received"}
    assert view_from_query({"range": "custom"})["range"] == "live"           # a custom range needs its start


def test_options_are_labelled_and_keep_what_the_address_chose():
    assert entity_options("store", {2, 1}, [57]) == [{"label": "Store 1", "value": 1}, {"label": "Store 2", "value": 2},
                                                     {"label": "Store 57", "value": 57}]
    assert entity_options("asset_id", {"pump-01"}) == [{"label": "Asset pump-01", "value": "pump-01"}]


def test_server_times_read_like_the_browser_ones():
    now = datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc)
    assert time_text("2026-12-02T10:46:07.123Z", now) == "10:46:07"
    assert time_text("2026-12-01T23:59:59+00:00", now) == "1 Dec 23:59:59 UTC"
    assert time_text("2026-12-02T01:30:00+02:00", now) == "1 Dec 23:30:00 UTC"
    assert time_text("2025-06-30 08:00:00", now) == "30 Jun 2025 08:00:00 UTC"
    assert time_text("then", now) == "then"
    cell = time_cell("2026-12-01T08:00:00+00:00")
    assert cell.dateTime == "2026-12-01T08:00:00Z" and cell.className == "pulse-time"
