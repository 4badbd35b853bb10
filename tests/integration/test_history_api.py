"""GET /api/v1/history and /api/v1/history/export.csv against the app in-process with its runtime
started (the real pipeline and history writer, simulator off): events posted through POST /api/v1/iot
with an API key come back as exact aggregates, raw points and CSV rows; X-API-Key or a session; another
tenant sees nothing; bad parameters answer 400 naming the parameter; retention with a fake clock.

Synchronisation is on states: the pipeline's processed count, then HistoryWriter.flush()."""
import csv
import io
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from helpers import ADMIN_PASSWORD, log_in
from services.history.store import BUCKET_FIELDS, RAW_FIELDS
from services.history.writer import HistoryRetention

HOUR = 3600


def make_app(data_dir, **config):
    from app import create_app
    from services.config import Config
    app = create_app(Config(data_dir=data_dir, admin_password=ADMIN_PASSWORD, simulator=False, market_feed=False,
                            **config))
    app.config.update(TESTING=True)
    return app


def runtime_of(app):
    from services.web.runtime_access import get_runtime
    return get_runtime(app)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The app with its runtime running (pipeline, history writer, retention thread)."""
    app = make_app(tmp_path_factory.mktemp("history"))
    runtime_of(app).start()
    yield app
    runtime_of(app).stop()


@pytest.fixture(scope="module")
def keys(live):
    api_keys = runtime_of(live).api_keys
    return {tenant: api_keys.create(f"{tenant}-producer", tenant=tenant)[1] for tenant in ("acme", "globex")}


def now_iso(offset: float = 0) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset)).isoformat()


def retail(store: int, dept: int, sales: float, **extra) -> dict:
    return {"event_id": uuid.uuid4().hex, "timestamp": now_iso(), "store": store, "dept": dept,
            "weekly_sales": sales, "temperature": 40.0, "is_holiday": 0, **extra}


def kept(app, key: str, events: list[dict]) -> None:
    """POST the events with `key`, then wait until the pipeline scored them and the history holds them."""
    runtime = runtime_of(app)
    before = runtime.backend.pipeline.stats.processed
    r = app.test_client().post("/api/v1/iot", data=json.dumps(events),
                               headers={"X-API-Key": key, "Content-Type": "application/json"})
    assert r.status_code == 202 and r.get_json()["accepted"] == len(events), r.get_data(as_text=True)
    deadline = time.monotonic() + 30
    while runtime.backend.pipeline.stats.processed < before + len(events):
        assert time.monotonic() < deadline, "the pipeline did not process the posted events within 30 s"
        time.sleep(0.02)
    assert runtime.backend.history.flush(timeout=30)


def get(app, path: str, key: str | None = None, client=None, **params):
    client = client or app.test_client()
    return client.get(path, query_string=params, headers={"X-API-Key": key} if key else {})


def history(app, key=None, client=None, **params) -> dict:
    params = {"from": now_iso(-HOUR), "to": now_iso(HOUR), **params}
    r = get(app, "/api/v1/history", key, client, **params)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()


def combined(series: list[dict]) -> dict:
    """Bucket points summed up (a few events may straddle a bucket boundary)."""
    return {"count": sum(p["count"] for p in series), "sum": sum(p["sum"] for p in series),
            "min": min(p["min"] for p in series), "max": max(p["max"] for p in series),
            "anomalies": sum(p["anomalies"] for p in series), "max_risk": max(p["max_risk"] for p in series)}


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


@pytest.fixture(scope="module")
def posted(live, keys):
    """acme's events, known values: store 3 dept 7 (three), store 4 dept 7, store 3 dept 8."""
    events = [retail(3, 7, 1234.5), retail(3, 7, 0.25), retail(3, 7, -50.25), retail(4, 7, 10.0), retail(3, 8, 99.5)]
    kept(live, keys["acme"], events)
    return events


# -- the series -------------------------------------------------------------------------------------------

def test_the_history_answers_exact_aggregates_of_what_was_posted(live, keys, posted):
    answer = history(live, keys["acme"], store="3", dept="7", bucket="1h")
    assert answer["bucket"] == "1h" and answer["time"] == "received" and answer["truncated"] is False
    assert answer["from"].endswith("Z") and answer["to"].endswith("Z")
    raw = history(live, keys["acme"], store="3", dept="7")                 # few and kept: raw by default
    assert raw["bucket"] == "raw"
    assert [p["event_id"] for p in raw["series"]] == [e["event_id"] for e in posted[:3]]
    assert [p["value"] for p in raw["series"]] == [1234.5, 0.25, -50.25]
    hour = combined(answer["series"])
    assert (hour["count"], hour["sum"], hour["min"], hour["max"]) == (3, 1184.5, -50.25, 1234.5)
    if len(answer["series"]) == 1:                  # (one batch, so one hour, unless posted on the stroke of it)
        assert answer["series"][0]["mean"] == 1184.5 / 3
    assert hour["anomalies"] == sum(p["anomaly"] for p in raw["series"])
    assert hour["max_risk"] == max(p["risk_score"] for p in raw["series"])
    point = raw["series"][0]
    assert point["t"] == point["received"] and point["timestamp"].endswith("Z") and point["store"] == 3
    assert {"anomaly_score", "risk_level", "model_version"} <= point.keys()


@pytest.mark.parametrize("params, count, total", [
    ({"store": "3"}, 4, 1284.0), ({"dept": "7"}, 4, 1194.5), ({"store": "3,4", "dept": "7"}, 4, 1194.5),
    ({"store": "3", "dept": "8"}, 1, 99.5), ({"store": "3,4"}, 5, 1294.0), ({"store": "5"}, 0, 0),
])
def test_filters_select_stores_and_departments(live, keys, posted, params, count, total):
    for bucket in ("1m", "1h", "1d"):
        series = history(live, keys["acme"], bucket=bucket, **params)["series"]
        assert sum(p["count"] for p in series) == count and sum(p["sum"] for p in series) == total, bucket
    raw = history(live, keys["acme"], bucket="raw", **params)["series"]
    assert len(raw) == count and sum(p["value"] for p in raw) == total


def test_an_offset_sent_with_an_unencoded_plus_is_read_as_one(live, keys, posted):
    start = (datetime.now(timezone.utc) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    url = f"/api/v1/history?bucket=1d&store=3&from={start.isoformat(timespec='seconds')}"      # '+02:00' raw in the URL
    assert "+02:00" in url
    r = live.test_client().get(url, headers={"X-API-Key": keys["acme"]})
    assert r.status_code == 200 and sum(p["count"] for p in r.get_json()["series"]) == 4


def test_event_time_is_the_events_own_timestamp(live, keys):
    events = [retail(21, 1, 5.0, timestamp="2011-03-04T05:06:07Z"), retail(21, 1, 7.0, timestamp="2011-03-04T05:59:00Z")]
    kept(live, keys["acme"], events)
    replay = history(live, keys["acme"], store="21", time="event", bucket="1h",
                     **{"from": "2011-03-04T00:00:00Z", "to": "2011-03-05T00:00:00Z"})
    assert replay["time"] == "event" and replay["series"] == [
        {"t": "2011-03-04T05:00:00.000Z", "count": 2, "sum": 12.0, "min": 5.0, "max": 7.0, "mean": 6.0,
         "anomalies": replay["series"][0]["anomalies"], "max_risk": replay["series"][0]["max_risk"]}]
    received = history(live, keys["acme"], store="21")                   # the live view: arrival time, now
    assert [p["timestamp"] for p in received["series"]] == ["2011-03-04T05:06:07.000Z", "2011-03-04T05:59:00.000Z"]
    hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    assert all(p["t"] == p["received"] and datetime.fromisoformat(p["t"]) > hour_ago for p in received["series"])


# -- who may read ---------------------------------------------------------------------------------------

def test_without_a_session_or_a_valid_key_the_answer_is_401(live, posted):
    for path in ("/api/v1/history", "/api/v1/history/export.csv"):
        assert get(live, path).status_code == 401
        r = get(live, path, "pb_00000000_wrong")
        assert r.status_code == 401 and "X-API-Key" in r.get_json()["error"]


def test_another_tenant_sees_nothing_of_acme(live, keys, posted):
    for bucket in ("raw", "1m", "1h", "1d"):
        assert history(live, keys["globex"], bucket=bucket)["series"] == []
        assert history(live, keys["globex"], bucket=bucket, store="3")["series"] == []
    r = get(live, "/api/v1/history/export.csv", keys["globex"], **{"from": now_iso(-HOUR), "to": now_iso(HOUR)})
    assert r.status_code == 200 and csv_rows(r) == [list(RAW_FIELDS)]
    admin = live.test_client()
    log_in(admin)                                   # the admin of tenant `default`
    assert history(live, client=admin, bucket="1h")["series"] == []


def test_a_signed_in_analyst_reads_their_own_tenants_history(live, posted):
    runtime_of(live).users.create("acme-analyst", "analyst-pass-1", role="analyst", tenant="acme")
    client = live.test_client()
    log_in(client, "acme-analyst", "analyst-pass-1")
    assert sum(p["count"] for p in history(live, client=client, bucket="1h", store="3")["series"]) == 4
    r = client.get("/api/v1/history/export.csv", query_string={"from": now_iso(-HOUR), "to": now_iso(HOUR),
                                                               "store": "3", "dept": "7"})
    assert r.status_code == 200 and len(csv_rows(r)) == 4


@pytest.mark.parametrize("params, parameter", [
    ({"from": "yesterday"}, "from"), ({"to": "2026-02-30T00:00:00Z"}, "to"), ({"bucket": "5m"}, "bucket"),
    ({"time": "local"}, "time"), ({"store": "x"}, "store"), ({"dept": "0"}, "dept"),
    ({"from": "2026-12-02T12:00:00Z", "to": "2026-12-02T11:00:00Z"}, "from"),
    ({"store": "1", "asset_id": "pump-1"}, "store"), ({"asset_id": "a" * 300}, "asset_id"),
    ({"profile": "weather"}, "profile"), ({"sotre": "3"}, "sotre"),
])
def test_bad_parameters_answer_400_naming_the_parameter(live, keys, params, parameter):
    for path in ("/api/v1/history", "/api/v1/history/export.csv"):
        r = get(live, path, keys["acme"], **params)
        assert r.status_code == 400, (path, params)
        assert r.get_json()["parameter"] == parameter and r.get_json()["code"] == "bad_parameter"
        assert parameter in r.get_json()["error"]


# -- the export -------------------------------------------------------------------------------------------

def test_the_export_streams_csv_with_values_exactly_as_posted_and_formulas_neutralised(live, keys):
    events = [retail(31, 1, 1234.5, event_id="=HYPERLINK(\"http://evil\",\"x\")"),
              retail(31, 1, 0.1, event_id="-2+3", fuel_price=3.1415),
              retail(31, 2, 12345678.901, event_id="@SUM(A1:A9)"),
              retail(31, 2, -0.0001, event_id="plain-id")]
    kept(live, keys["acme"], events)
    r = get(live, "/api/v1/history/export.csv", keys["acme"], store="31",
            **{"from": now_iso(-HOUR), "to": now_iso(HOUR)})
    assert r.status_code == 200 and r.is_streamed
    assert r.mimetype == "text/csv" and r.headers["X-History-Bucket"] == "raw"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="history-acme-')
    rows = csv_rows(r)
    assert rows[0] == list(RAW_FIELDS)
    body = [dict(zip(RAW_FIELDS, row)) for row in rows[1:]]
    assert [b["event_id"] for b in body] == ["'=HYPERLINK(\"http://evil\",\"x\")", "'-2+3", "'@SUM(A1:A9)", "plain-id"]
    assert [b["value"] for b in body] == ["1234.5", "0.1", "12345678.901", "-0.0001"]
    assert body[1]["fuel_price"] == "3.1415" and body[0]["fuel_price"] == "" and body[0]["store"] == "31"
    assert [b["timestamp"] for b in body] == [
        datetime.fromisoformat(e["timestamp"]).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for e in events]
    assert r.get_data(as_text=True).count("\r\n") == len(rows)


def test_an_export_reaching_beyond_raw_retention_answers_rollup_rows(live, keys, posted):
    r = get(live, "/api/v1/history/export.csv", keys["acme"], store="3", dept="7",
            **{"from": now_iso(-72 * HOUR), "to": now_iso(HOUR)})
    assert r.status_code == 200 and r.headers["X-History-Bucket"] == "1h"
    rows = csv_rows(r)
    assert rows[0] == list(BUCKET_FIELDS) and rows[1][0].endswith(":00:00.000Z")
    hours = [{f: float(v) if f != "start" else v for f, v in zip(BUCKET_FIELDS, row)} for row in rows[1:]]
    assert combined(hours) | {"anomalies": 0, "max_risk": 0} == {"count": 3, "sum": 1184.5, "min": -50.25,
                                                                   "max": 1234.5, "anomalies": 0, "max_risk": 0}
    asked = get(live, "/api/v1/history/export.csv", keys["acme"], store="3", bucket="1m",
                **{"from": now_iso(-HOUR), "to": now_iso(HOUR)})
    assert asked.headers["X-History-Bucket"] == "1m" and csv_rows(asked)[0] == list(BUCKET_FIELDS)


# -- retention and switching history off -----------------------------------------------------------------

def test_retention_with_a_fake_clock_keeps_rollups_after_raw_is_gone(tmp_path):
    app = make_app(tmp_path)
    runtime = runtime_of(app)
    runtime.start()
    try:
        key = runtime.api_keys.create("p", tenant="acme")[1]
        kept(app, key, [retail(1, 1, 2.5), retail(1, 1, 4.0)])
        assert len(history(app, key, bucket="raw")["series"]) == 2
        later = HistoryRetention(runtime.history, raw_hours=48, days=400, clock=lambda: time.time() + 49 * HOUR)
        assert later.run_once() == {"events": 2, "rollups": 0}
        assert history(app, key, bucket="raw")["series"] == []
        hour = combined(history(app, key, bucket="1h")["series"])
        assert (hour["count"], hour["sum"]) == (2, 6.5)
        much_later = HistoryRetention(runtime.history, raw_hours=48, days=400,
                                      clock=lambda: time.time() + 401 * 86400)
        assert much_later.run_once()["rollups"] > 0
        assert history(app, key, bucket="1h")["series"] == []
    finally:
        runtime.stop()


def test_with_history_off_the_api_says_so(tmp_path):
    app = make_app(tmp_path, history=False)
    key = runtime_of(app).api_keys.create("p")[1]
    for path in ("/api/v1/history", "/api/v1/history/export.csv"):
        r = get(app, path, key)
        assert r.status_code == 404 and r.get_json()["code"] == "history_off"
