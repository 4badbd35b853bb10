"""SqlHistoryStore on SQLite and PostgreSQL (the `database` fixture): raw points and 1m/1h/1d buckets
equal to a brute-force computation over the rows written, on either clock and under every filter;
the automatic bucket; tenant isolation; the CSV export; retention with a fake clock; the migrations."""
import random
import threading
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from alembic import command
from sqlalchemy import MetaData, Table, inspect

from history_data import (DAY, T0, as_dict, brute_rollups, event_rows, exported_rows, matching, query,
                          random_batch, retail, scores, sensor, write)
from services.history.query import BUCKETS, MAX_POINTS, parse
from services.history.store import BUCKET_FIELDS, RAW_FIELDS, IsoStamps, SqlHistoryStore, iso
from services.history.writer import HistoryRetention
from services.storage.db import Database
from services.storage.migrate import alembic_config, current, head, upgrade

HOUR = 3600


@pytest.fixture
def store(database):
    return SqlHistoryStore(database)


@pytest.fixture
def filled(store) -> list[dict]:
    """Two tenants' mixed retail and sensor batches over three hours; every row written."""
    rng = random.Random(7)
    rows = []
    for k in range(36):
        for tenant in ("acme", "globex"):
            rows += write(store, tenant, random_batch(rng, 25, prefix=f"{tenant}{k}-"), T0 + k * 301.7, seed=k)
    return rows


def buckets(rows: list[dict], size: int, clock: str = "received") -> list[dict]:
    """The 1m/1h/1d points of `rows`, by brute force."""
    groups = defaultdict(list)
    for r in rows:
        groups[int(r["received" if clock == "received" else "ts"] // size * size)].append(r)
    out = []
    for start in sorted(groups):
        values = [r["value"] for r in groups[start]]
        out.append({"t": iso(start), "count": len(values), "sum": sum(values), "min": min(values), "max": max(values),
                    "mean": sum(values) / len(values), "anomalies": sum(r["anomaly"] for r in groups[start]),
                    "max_risk": max(r["risk_score"] for r in groups[start])})
    return out


FILTERS = [   # URL parameters, and the row fields they select by
    ({}, {"profile": ["retail"]}),
    ({"store": "1,3"}, {"store": [1, 3]}),
    ({"dept": "2"}, {"dept": [2]}),
    ({"store": "2", "dept": "1,4"}, {"store": [2], "dept": [1, 4]}),
    ({"profile": "sensor"}, {"profile": ["sensor"]}),
    ({"asset_id": "pump-2"}, {"asset_id": ["pump-2"]}),
    ({"sensor_type": "vibration"}, {"sensor_type": ["vibration"]}),
    ({"asset_id": "pump-1", "sensor_type": "temperature"}, {"asset_id": ["pump-1"], "sensor_type": ["temperature"]}),
    ({"sensor_id": "pump-1-vibration-2,pump-2-temperature-1"},
     {"sensor_id": ["pump-1-vibration-2", "pump-2-temperature-1"]}),
]


# -- reading ---------------------------------------------------------------------------------------------

def test_rollup_buckets_equal_a_brute_force_sum_under_every_filter(store, filled):
    for params, fields in FILTERS:
        for bucket in ("1m", "1h", "1d"):
            answer = store.series("acme", query({"bucket": bucket, **params}), raw_since=0)
            expected = buckets(matching(filled, "acme", T0 - DAY, T0 + DAY, **fields), BUCKETS[bucket])
            assert answer == {"bucket": bucket, "series": expected, "truncated": False}, (bucket, params)
            assert expected, params                        # the filter selects something


def test_raw_points_are_every_matching_event_in_received_order(store, filled):
    for params, fields in FILTERS:
        answer = store.series("acme", query({"bucket": "raw", **params}), raw_since=0)
        expected = sorted(matching(filled, "acme", T0 - DAY, T0 + DAY, **fields), key=lambda r: r["received"])
        assert [p["event_id"] for p in answer["series"]] == [r["event_id"] for r in expected], params
        assert [p["value"] for p in answer["series"]] == [r["value"] for r in expected], params
        assert answer["bucket"] == "raw" and answer["truncated"] is False


def test_a_raw_point_carries_both_times_its_scores_and_no_empty_fields(store):
    e = retail("r1", 3, 7, 1234.5, timestamp="2011-02-04T00:00:00Z", cpi=211.25)
    write(store, "acme", [e], T0 + 0.25, anomaly=[True], risk=[81])
    [point] = store.series("acme", query({"bucket": "raw"}), raw_since=0)["series"]
    assert point == {"t": "2026-12-02T10:00:00.250Z", "received": "2026-12-02T10:00:00.250Z",
                     "timestamp": "2011-02-04T00:00:00.000Z", "event_id": "r1", "profile": "retail", "store": 3,
                     "dept": 7, "value": 1234.5, "temperature": 40.5, "is_holiday": 0, "cpi": 211.25, "anomaly": True,
                     "anomaly_score": 0.81, "risk_score": 81, "risk_level": "CRITICAL", "model_version": 3}   # cluster None: left out
    event_clock = store.series("acme", parse({"from": "2011-02-03T00:00:00Z", "to": "2011-02-05T00:00:00Z",
                                              "bucket": "raw", "time": "event"}, T0), raw_since=0)
    assert [p["t"] for p in event_clock["series"]] == ["2011-02-04T00:00:00.000Z"]


def test_a_replay_of_old_data_is_charted_on_received_time_unless_event_time_is_asked_for(store):
    rng = random.Random(3)
    rows = []
    for k in range(10):          # 2011's data arriving now: event hours over two days, received over a minute
        events = [retail(f"old{k}-{i}", 1 + i % 2, 1, rng.randint(0, 4000) / 4,
                         timestamp=f"2011-03-0{1 + k % 2}T{(5 * k) % 24:02d}:{i:02d}:00Z") for i in range(20)]
        rows += write(store, "acme", events, T0 + k * 5, seed=k)
    received = store.series("acme", query({"bucket": "1h"}), raw_since=0)
    assert received["series"] == buckets(rows, HOUR)                       # all within today's hour 10:00
    assert [p["t"] for p in received["series"]] == ["2026-12-02T10:00:00.000Z"]
    replay = {"from": "2011-03-01T00:00:00Z", "to": "2011-03-03T00:00:00Z", "time": "event"}
    for bucket in ("1m", "1h", "1d"):
        answer = store.series("acme", parse({**replay, "bucket": bucket}, T0), raw_since=0)
        assert answer["series"] == buckets(rows, BUCKETS[bucket], clock="event"), bucket
    raw = store.series("acme", parse({**replay, "bucket": "raw", "store": "2"}, T0), raw_since=0)["series"]
    assert [p["t"] for p in raw] == sorted(r["timestamp"] for r in rows if r["store"] == 2)
    on_received = {**replay, "time": "received", "bucket": "1h"}
    assert store.series("acme", parse(on_received, T0), raw_since=0)["series"] == []


def test_buckets_are_whole_on_either_clock_even_where_the_range_cuts_them(store):
    events = [retail("a", 1, 1, 1.0, timestamp="2026-12-02T10:00:10Z"), retail("b", 1, 1, 2.0, timestamp="2026-12-02T10:59:50Z")]
    write(store, "acme", events[:1], T0 + 10)
    write(store, "acme", events[1:], T0 + 3590)
    inside = {"from": iso(T0 + 1800), "to": iso(T0 + 2700), "bucket": "1h"}
    for clock in ("received", "event"):
        [hour] = store.series("acme", parse({**inside, "time": clock}, T0), raw_since=0)["series"]
        assert (hour["t"], hour["count"], hour["sum"]) == (iso(T0), 2, 3.0), clock
    raw = store.series("acme", parse({**inside, "bucket": "raw", "time": "event"}, T0), raw_since=0)["series"]
    assert raw == []                                   # raw points are exactly the range's


def test_the_automatic_bucket_is_raw_while_kept_and_few_else_the_finest_rollup_within_the_budget(store, filled):
    three_hours = {"from": iso(T0), "to": iso(T0 + 3 * HOUR)}
    assert store.series("acme", parse(three_hours, T0), raw_since=T0 - HOUR)["bucket"] == "raw"
    retail_rows = matching(filled, "acme", T0, T0 + 3 * HOUR, profile=["retail"])
    assert len(store.series("acme", parse(three_hours, T0), raw_since=T0 - HOUR)["series"]) == len(retail_rows)
    answer = store.series("acme", parse(three_hours, T0), raw_since=T0 + 1)        # raw no longer kept from the start
    assert answer["bucket"] == "1m" and answer["series"] == buckets(matching(filled, "acme", T0, T0 + 3 * HOUR,
                                                                             profile=["retail"]), 60)
    week = {"from": iso(T0 - 6 * DAY), "to": iso(T0 + DAY)}
    assert store.series("acme", parse(week, T0), raw_since=T0 + 1)["bucket"] == "1h"
    quarter = {"from": iso(T0 - 90 * DAY), "to": iso(T0 + DAY)}
    answer = store.series("acme", parse(quarter, T0), raw_since=T0 + 1)
    assert answer["bucket"] == "1d" and answer["series"] == buckets(matching(filled, "acme", T0 - DAY, T0 + DAY,
                                                                             profile=["retail"]), DAY)


def test_more_raw_events_than_the_point_budget_are_answered_per_minute(store):
    rows = write(store, "acme", [retail(f"r{i}", 1, 1, i / 4) for i in range(MAX_POINTS + 1)], T0 + 30)
    answer = store.series("acme", parse({"from": iso(T0), "to": iso(T0 + 60)}, T0), raw_since=0)
    assert answer["bucket"] == "1m" and answer["series"] == buckets(rows, 60)
    less = store.series("acme", parse({"from": iso(T0), "to": iso(T0 + 60), "store": "2"}, T0), raw_since=0)
    assert less == {"bucket": "raw", "series": [], "truncated": False}


def test_raw_is_answered_only_where_it_is_still_kept_and_cut_at_the_limit(store, filled):
    since = T0 + HOUR
    answer = store.series("acme", query({"bucket": "raw"}), raw_since=since)
    expected = sorted(matching(filled, "acme", since, T0 + DAY, profile=["retail"]), key=lambda r: r["received"])
    assert [p["event_id"] for p in answer["series"]] == [r["event_id"] for r in expected]
    cut = store.series("acme", replace(query({"bucket": "raw"}), limit=5), raw_since=0)
    assert len(cut["series"]) == 5 and cut["truncated"] is True


def test_another_tenants_history_is_never_answered(store, filled):
    mine = {p["event_id"] for p in store.series("globex", query({"bucket": "raw"}), raw_since=0)["series"]}
    assert mine and all(i.startswith("globex") for i in mine)
    assert store.series("globex", query({"bucket": "1h"}), raw_since=0)["series"] == buckets(
        matching(filled, "globex", T0 - DAY, T0 + DAY, profile=["retail"]), HOUR)
    for bucket in ("raw", "1m", "1h", "1d"):
        assert store.series("nobody", query({"bucket": bucket}), raw_since=0)["series"] == []
        exported = exported_rows(store, "globex", query({"bucket": bucket}))
        assert len(exported) > 1 and not any("acme" in cell for row in exported for cell in row)
    assert exported_rows(store, "nobody", query({"bucket": "raw"})) == [list(RAW_FIELDS)]      # the header only
    assert exported_rows(store, "nobody", query({"bucket": "1h"})) == [list(BUCKET_FIELDS)]


def test_writes_to_the_same_minute_add_up(store):
    rows = write(store, "acme", [retail("a", 1, 1, 5.0), retail("b", 1, 2, -2.5)], T0 + 10, anomaly=[True, False],
                 risk=[30, 90])
    rows += write(store, "acme", [retail("c", 1, 1, 7.25)], T0 + 20, anomaly=[True], risk=[50])
    rows += write(store, "acme", [retail("d", 1, 1, -9.0)], T0 + 70, anomaly=[False], risk=[10])
    assert store.series("acme", query({"bucket": "1m"}), raw_since=0)["series"] == buckets(rows, 60)
    [hour] = store.series("acme", query({"bucket": "1h", "store": "1", "dept": "1"}), raw_since=0)["series"]
    assert hour == {"t": iso(T0), "count": 3, "sum": 3.25, "min": -9.0, "max": 7.25, "mean": 3.25 / 3, "anomalies": 2,
                    "max_risk": 50}


# -- export ----------------------------------------------------------------------------------------------

def test_the_raw_export_is_every_matching_row_with_values_as_received(store, filled):
    e = sensor("=HYPERLINK(\"x\")", "pump-1", "vibration", "pump-1-vibration-1", 0.1)
    write(store, "acme", [e], T0 + 5)
    rows = exported_rows(store, "acme", query({"bucket": "raw", "asset_id": "pump-1"}))
    assert rows[0] == list(RAW_FIELDS)
    expected = sorted(matching(filled, "acme", T0 - DAY, T0 + DAY, asset_id=["pump-1"]), key=lambda r: r["received"])
    body = [dict(zip(RAW_FIELDS, r)) for r in rows[1:]]
    assert [r["event_id"] for r in body if r["event_id"][0] != "'"] == [r["event_id"] for r in expected]
    assert [float(r["value"]) for r in body if r["event_id"][0] != "'"] == [r["value"] for r in expected]
    assert [r["received"] for r in body if r["event_id"][0] != "'"] == [iso(r["received"]) for r in expected]
    [mine] = [r for r in body if r["event_id"] == "'" + e["event_id"]]
    assert mine == {**mine, "value": "0.1", "received": "2026-12-02T10:00:05.000Z", "unit": "mm/s",
                    "timestamp": "2026-12-02T10:00:00.000Z", "store": "", "dept": "", "temperature": "",
                    "asset_id": "pump-1", "profile": "sensor", "anomaly": "0", "risk_level": mine["risk_level"]}


TRICKY = [0.1, 1234.5, -0.0001, 1e-07, 12345678.901, 0.1 + 0.2, 1e20, 2.0 ** 0.5, -123456789012.25]


def test_the_raw_export_writes_numbers_exactly_and_quotes_and_guards_what_producers_wrote(store):
    events = [retail(f"id-{i}", 1, 1, v, fuel_price=v / 3) for i, v in enumerate(TRICKY)]
    events += [retail("=1+1", 1, 2, 1.0), retail("-2+3", 1, 2, 2.0), retail("+SUM(A1)", 1, 2, 3.0),
               retail("@cmd", 1, 2, 4.0), retail("a,b", 1, 2, 5.0), retail('say "hi"', 1, 2, 6.0),
               retail("line\nbreak", 1, 2, 7.0), retail("=x,\"y\"", 1, 2, 8.0), retail("\tTAB", 1, 2, 9.0)]
    events += [sensor("s1", "=pump,1", "vibration", "@s\"1", 0.5, unit="-mm")]
    write(store, "acme", events, T0 + 1)
    rows = [dict(zip(RAW_FIELDS, r)) for r in exported_rows(store, "acme", query({"bucket": "raw", "profile": "retail"}))[1:]]
    assert [float(r["value"]) for r in rows[:len(TRICKY)]] == TRICKY                  # read back exactly
    assert [float(r["fuel_price"]) for r in rows[:len(TRICKY)]] == [v / 3 for v in TRICKY]
    assert [r["event_id"] for r in rows[len(TRICKY):]] == [
        "'=1+1", "'-2+3", "'+SUM(A1)", "'@cmd", "a,b", 'say "hi"', "line\nbreak", "'=x,\"y\"", "'\tTAB"]
    [reading] = exported_rows(store, "acme", query({"bucket": "raw", "profile": "sensor"}))[1:]
    reading = dict(zip(RAW_FIELDS, reading))
    assert (reading["asset_id"], reading["sensor_id"], reading["unit"]) == ("'=pump,1", "'@s\"1", "'-mm")


def test_the_exported_received_time_is_the_apis_to_the_millisecond(store):
    rng = random.Random(9)
    times = sorted(T0 + rng.uniform(0, 3000) for _ in range(300)) + [T0 + 0.0005, T0 + 0.0015, T0 + 59.9995]
    for k, t in enumerate(times):
        write(store, "acme", [retail(f"t{k}", 1, 1, 1.0)], t)
    exported = [r[0] for r in exported_rows(store, "acme", query({"bucket": "raw"}))[1:]]
    served = [p["received"] for p in store.series("acme", query({"bucket": "raw"}), raw_since=0)["series"]]
    assert exported == served == [iso(t) for t in sorted(times)]


def test_the_bucket_export_matches_the_series(store, filled):
    for bucket in ("1m", "1h", "1d"):
        q = query({"bucket": bucket, "store": "2"})
        rows = exported_rows(store, "acme", q)
        assert rows[0] == list(BUCKET_FIELDS)
        series = store.series("acme", q, raw_since=0)["series"]
        assert [dict(zip(BUCKET_FIELDS, r)) for r in rows[1:]] == [
            {"start": p["t"], **{f: str(p[f]) for f in BUCKET_FIELDS[1:]}} for p in series]


# -- retention -------------------------------------------------------------------------------------------

class FakeClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_retention_drops_raw_after_its_hours_and_rollups_after_their_days(store, filled):
    clock = FakeClock(T0 + 48 * HOUR + 90 * 60)         # raw before T0 + 90 min is out of its 48 hours
    retention = HistoryRetention(store, raw_hours=48, days=400, clock=clock)
    hours_before = store.series("acme", query({"bucket": "1h"}), raw_since=0)["series"]
    assert retention.run_once() == {"events": sum(1 for r in filled if r["received"] < T0 + 90 * 60), "rollups": 0}
    kept = store.series("acme", query({"bucket": "raw", "profile": "sensor"}), raw_since=0)["series"]
    assert [p["event_id"] for p in kept] == [r["event_id"] for r in sorted(
        matching(filled, "acme", T0 + 90 * 60, T0 + DAY, profile=["sensor"]), key=lambda r: r["received"])]
    assert store.series("acme", query({"bucket": "1h"}), raw_since=0)["series"] == hours_before    # rollups stay
    assert retention.run_once() == {"events": 0, "rollups": 0}

    clock.now = T0 + 400 * DAY + 90 * 60                  # the first two hours' rollups are 400 days old
    removed = retention.run_once()
    assert removed["events"] == sum(1 for r in filled if r["received"] >= T0 + 90 * 60)
    left = store.series("acme", query({"bucket": "1h"}), raw_since=0)["series"]
    assert [p["t"] for p in left] == [iso(T0 + 2 * HOUR)] and left == hours_before[2:]
    minutes = store.series("acme", query({"bucket": "1m"}), raw_since=0)["series"]
    assert minutes == buckets(matching(filled, "acme", T0 + 90 * 60, T0 + DAY, profile=["retail"]), 60)
    clock.now += DAY
    retention.run_once()
    assert store.series("acme", query({"bucket": "1m"}), raw_since=0)["series"] == []
    assert store.tenants() == []


def test_retention_deletes_in_small_batches_and_stops_when_asked(store, filled):
    assert store.tenants() == ["acme", "globex"]
    stop = threading.Event()
    stop.set()
    assert store.trim(T0 + DAY, T0 + DAY, batch=7, stop=stop) == {"events": 0, "rollups": 0}
    assert store.trim(T0 + DAY, T0 + DAY, batch=7, pause=0) == {"events": len(filled), "rollups": len(brute_rollups(filled))}


# -- schema ----------------------------------------------------------------------------------------------

def test_the_migration_creates_the_history_tables_and_their_indexes(database):
    assert current(database) == head()
    found = inspect(database.engine)
    assert {"history_blocks", "history_rollups"} <= set(found.get_table_names())
    assert "history_events" not in found.get_table_names()          # 0007: raw events live in blocks
    assert {"history_blocks_received", "history_blocks_ts"} == {i["name"] for i in found.get_indexes("history_blocks")}
    assert found.get_pk_constraint("history_rollups")["constrained_columns"] == ["tenant", "scope", "bucket", "start"]


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated(request, tmp_path):
    """An empty database on each backend, not migrated."""
    target = tmp_path / "old.sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
    db = Database(target, migrate=False)
    yield db
    db.dispose()


def test_raw_events_stored_as_rows_by_an_earlier_release_move_into_blocks_and_back(unmigrated):
    upgrade(unmigrated, "0006")            # the release before blocks: one history_events row per event
    events = [retail(f"r{i}", 1 + i % 3, 7 + i % 2, i / 4, cpi=211.25 if i % 2 else None) for i in range(40)]
    events += [sensor("s1", "pump-1", "vibration", "v-1", 0.5), sensor("s2", "pump-2", "temperature", "t-2", 1.5, unit="C")]
    old = [as_dict(r) for r in event_rows("acme", events, scores(len(events), seed=5), T0 + 5)]
    old += [as_dict(r) for r in event_rows("globex", events[:3], scores(3), T0 + 7)]
    table = Table("history_events", MetaData(), autoload_with=unmigrated.engine)
    with unmigrated.connect() as conn:
        conn.execute(table.insert(), old)
    assert upgrade(unmigrated) and current(unmigrated) == head()
    assert "history_events" not in inspect(unmigrated.engine).get_table_names()
    store = SqlHistoryStore(unmigrated)
    for params, fields in FILTERS + [({"store": "2", "dept": "8"}, {"store": [2], "dept": [8]})]:
        for tenant in ("acme", "globex"):
            answer = store.series(tenant, query({"bucket": "raw", **params}), raw_since=0)["series"]
            expected = matching(old, tenant, T0 - DAY, T0 + DAY, **fields)
            assert [(p["event_id"], p["value"], p.get("cpi")) for p in answer] == [
                (r["event_id"], r["value"], r["cpi"]) for r in expected], (tenant, params)
    with unmigrated.connect() as conn:
        command.downgrade(alembic_config(conn), "0004")
    table = Table("history_events", MetaData(), autoload_with=unmigrated.engine)
    with unmigrated.connect() as conn:
        back = [dict(r) for r in conn.execute(table.select().order_by(table.c.id)).mappings()]
    by_event = lambda r: (r["tenant"], r["event_id"])          # noqa: E731 - blocks regroup rows by store
    assert sorted(({k: v for k, v in r.items() if k != "id"} for r in back), key=by_event) == sorted(old, key=by_event)
    names = {i["name"] for i in inspect(unmigrated.engine).get_indexes("history_events")}
    assert {"history_events_tenant_store", "history_events_tenant_asset"} <= names and "history_events_by_dept" not in names


def test_iso_times_are_utc_with_milliseconds():
    assert iso(T0) == "2026-12-02T10:00:00.000Z" == datetime.fromtimestamp(T0, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")
    assert iso(T0 + 0.9996) == "2026-12-02T10:00:01.000Z" and iso(0.001) == "1970-01-01T00:00:00.001Z"
    assert iso(T0 - 0.0006) == "2026-12-02T09:59:59.999Z" and iso(T0 + 14 * HOUR - 0.001) == "2026-12-02T23:59:59.999Z"
    rng = random.Random(4)
    moments = sorted(rng.uniform(0, 2e9) for _ in range(2000))
    stamps = IsoStamps()                             # one formatter over many hours, as a chart uses it
    assert [stamps(m) for m in moments] == [
        datetime.fromtimestamp(int(m * 1000 + 0.5) / 1000, timezone.utc).isoformat(timespec="milliseconds")
        .replace("+00:00", "Z") for m in moments]

