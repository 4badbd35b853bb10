"""A history request from URL parameters (services.history.query) and the rollup scopes it reads
(services.history.scopes): every parameter, the defaults, and a 400 naming the parameter for each
bad value."""
import itertools
import random
from collections import Counter
from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import MultiDict

from services.history.query import MAX_POINTS, MAX_RANGE_DAYS, MAX_VALUES, QueryError, finest_bucket, parse, parse_time
from services.history.scopes import RETAIL, SENSOR, event_scopes, query_scopes

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc).timestamp()


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def args(*pairs, **single) -> MultiDict:
    """Query arguments as Flask passes them: repeated keys allowed."""
    return MultiDict([*pairs, *single.items()])


# -- defaults and every parameter ------------------------------------------------------------------

def test_no_parameters_is_the_last_hour_of_the_whole_retail_stream_on_received_time():
    q = parse(args(), NOW)
    assert (q.start, q.end) == (NOW - 3600, NOW)
    assert q.bucket is None and q.clock == "received" and q.profile == RETAIL
    assert q.stores == q.depts == q.assets == q.sensors == q.sensor_types == ()
    assert q.scopes == [RETAIL]


def test_from_alone_runs_to_now_and_to_alone_looks_back_an_hour():
    q = parse(args(**{"from": "2026-12-02T09:00:00Z"}), NOW)
    assert (q.start, q.end) == (epoch("2026-12-02T09:00:00+00:00"), NOW)
    q = parse(args(to="2026-12-01T00:00:00Z"), NOW)
    assert (q.start, q.end) == (epoch("2026-11-30T23:00:00+00:00"), epoch("2026-12-01T00:00:00+00:00"))


@pytest.mark.parametrize("text, expected", [
    ("2026-12-02T10:00:00+02:00", "2026-12-02T08:00:00+00:00"),
    ("2026-12-02T10:00:00 02:00", "2026-12-02T08:00:00+00:00"),      # '+' sent unencoded arrives as a space
    ("2026-12-02T10:00:00.250 0530", "2026-12-02T04:30:00.250+00:00"),
    ("2026-12-02 10:00 02:00", "2026-12-02T08:00:00+00:00"),          # space-separated date and time, too
    ("2026-12-02T10:00:00-03:00", "2026-12-02T13:00:00+00:00"),
    ("2026-12-02T10:00:00Z", "2026-12-02T10:00:00+00:00"),
    ("2026-12-02T10:00:00", "2026-12-02T10:00:00+00:00"),             # no offset: UTC
    ("2026-12-02 10:00", "2026-12-02T10:00:00+00:00"),                # not mistaken for an offset
    ("2026-12-02", "2026-12-02T00:00:00+00:00"),
    ("  2026-12-02T10:00:00Z ", "2026-12-02T10:00:00+00:00"),
])
def test_times_are_iso_8601_with_or_without_an_offset(text, expected):
    assert parse_time("from", text) == epoch(expected)


def test_filters_take_repeated_and_comma_separated_values_sorted_without_duplicates():
    q = parse(args(("store", "3,1"), ("store", "2"), ("store", " 1 "), ("dept", "7"), ("dept", ",9,")), NOW)
    assert q.stores == (1, 2, 3) and q.depts == (7, 9) and q.profile == RETAIL
    assert q.scopes == [f"store={s}/dept={d}" for s in (1, 2, 3) for d in (7, 9)]
    q = parse({"store": "4"}, NOW)                                   # a plain dict works as well
    assert q.stores == (4,) and q.scopes == ["store=4"]


@pytest.mark.parametrize("params, profile, scopes", [
    ({"asset_id": "pump-2,pump-1"}, SENSOR, ["asset=pump-1", "asset=pump-2"]),
    ({"sensor_id": "s-9"}, SENSOR, ["sensor=s-9"]),
    ({"sensor_type": "vibration"}, SENSOR, ["type=vibration"]),
    ({"asset_id": "pump-1", "sensor_type": "vibration,temperature"}, SENSOR,
     ["asset=pump-1/type=temperature", "asset=pump-1/type=vibration"]),
    ({"profile": "sensor"}, SENSOR, [SENSOR]),
    ({"profile": "retail"}, RETAIL, [RETAIL]),
    ({"dept": "5"}, RETAIL, ["dept=5"]),
])
def test_sensor_filters_select_the_sensor_profile(params, profile, scopes):
    q = parse(params, NOW)
    assert q.profile == profile and q.scopes == scopes


@pytest.mark.parametrize("bucket", ["raw", "1m", "1h", "1d"])
def test_every_bucket_can_be_asked_for(bucket):
    assert parse({"bucket": bucket}, NOW).bucket == bucket
    assert parse({"bucket": bucket}, NOW).with_bucket("1h").bucket == "1h"


@pytest.mark.parametrize("clock", ["received", "event"])
def test_either_clock_can_be_asked_for(clock):
    assert parse({"time": clock}, NOW).clock == clock


def test_empty_values_mean_the_default():
    q = parse({"from": "", "to": "", "bucket": "", "time": "", "profile": "", "store": ""}, NOW)
    assert (q.start, q.end, q.bucket, q.clock, q.profile, q.stores) == (NOW - 3600, NOW, None, "received", RETAIL, ())


# -- bad parameters: a QueryError naming the parameter (the API answers 400 with it) -----------------

@pytest.mark.parametrize("params, parameter", [
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-01T00:00:00Z"}, "to"),
    ({"from": "2026-12-02T10:00:00+25:00"}, "from"),
    ({"from": "2026-12-02T11:00:00Z", "to": "2026-12-02T11:00:00Z"}, "from"),
    ({"from": "2026-12-02T12:00:00Z", "to": "2026-12-02T11:00:00Z"}, "from"),
    ({"from": "2000-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
    ({"bucket": "5m"}, "bucket"),
    ({"bucket": "RAW"}, "bucket"),
    ({"time": "processing"}, "time"),
    ({"profile": "weather"}, "profile"),
    ({"store": "abc"}, "store"),
    ({"store": "0"}, "store"),
    ({"store": "-1"}, "store"),
    ({"store": "1.5"}, "store"),
    ({"store": "2147483648"}, "store"),
    ({"store": "\u00b2"}, "store"),                    # a digit to str.isdigit, not to int()
    ({"store": "\u0661\u0662"}, "store"),              # Arabic-Indic digits
    ({"dept": "x"}, "dept"),
    ({"store": ",".join(str(i) for i in range(1, MAX_VALUES + 2))}, "store"),
    ({"asset_id": "a" * 201}, "asset_id"),
    ({"sensor_id": ",".join(f"s{i}" for i in range(MAX_VALUES + 1))}, "sensor_id"),
    ({"sensor_type": "t" * 201}, "sensor_type"),
    ({"store": "1", "asset_id": "pump-1"}, "store"),
    ({"dept": "1", "sensor_type": "vibration"}, "dept"),
    ({"profile": "retail", "asset_id": "pump-1"}, "profile"),
    ({"profile": "sensor", "store": "3"}, "profile"),
    ({"sotre": "3"}, "sotre"),                          # a misspelt filter never silently answers everything
    ({"limit": "10"}, "limit"),
])
def test_bad_parameters_are_refused_naming_the_parameter(params, parameter):
    with pytest.raises(QueryError) as caught:
        parse(params, NOW)
    assert caught.value.parameter == parameter
    assert f"'{parameter}'" in str(caught.value)


def test_the_longest_range_allowed_is_accepted():
    q = parse({"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, NOW)      # 3,653 days
    assert q.end - q.start == 3653 * 86400 <= MAX_RANGE_DAYS * 86400


# -- the automatic bucket ------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, bucket", [
    (60, "1m"), (MAX_POINTS * 60, "1m"), (MAX_POINTS * 60 + 1, "1h"), (7 * 86400, "1h"),
    (MAX_POINTS * 3600, "1h"), (MAX_POINTS * 3600 + 1, "1d"), (400 * 86400, "1d"),
])
def test_the_finest_rollup_bucket_within_the_point_budget(seconds, bucket):
    assert finest_bucket(seconds) == bucket


# -- scopes --------------------------------------------------------------------------------------------

def test_an_event_adds_to_its_scopes():
    assert event_scopes({"profile": "retail", "store": 3, "dept": 7}) == (RETAIL, "store=3", "dept=7", "store=3/dept=7")
    sensor = {"profile": "sensor", "asset_id": "pump-1", "sensor_type": "vibration", "sensor_id": "s-1"}
    assert event_scopes(sensor) == (SENSOR, "type=vibration", "asset=pump-1", "asset=pump-1/type=vibration",
                                    "sensor=s-1")


def test_the_scopes_of_any_selection_sum_to_exactly_the_events_it_selects():
    """Brute force: for every selection, the counts of its scopes add up to the matching events (no event
    counted twice, none missed)."""
    rng = random.Random(5)
    retail = [{"profile": "retail", "store": rng.randint(1, 4), "dept": rng.randint(1, 5)} for _ in range(300)]
    sensors = [{"profile": "sensor", "asset_id": f"a{rng.randint(1, 3)}", "sensor_type": rng.choice("xyz"),
                "sensor_id": f"s{rng.randint(1, 6)}"} for _ in range(300)]
    counts = Counter(scope for e in retail + sensors for scope in event_scopes(e))
    subsets = lambda values: [()] + [c for n in (1, 2) for c in itertools.combinations(values, n)]   # noqa: E731
    for stores, depts in itertools.product(subsets(range(1, 5)), subsets(range(1, 6))):
        expected = sum(1 for e in retail if (not stores or e["store"] in stores) and (not depts or e["dept"] in depts))
        assert sum(counts[s] for s in query_scopes(stores, depts)) == expected, (stores, depts)
    for assets, kinds in itertools.product(subsets(["a1", "a2", "a3"]), subsets("xyz")):
        if not assets and not kinds:
            continue
        expected = sum(1 for e in sensors
                       if (not assets or e["asset_id"] in assets) and (not kinds or e["sensor_type"] in kinds))
        assert sum(counts[s] for s in query_scopes(assets=assets, sensor_types=kinds)) == expected, (assets, kinds)
    for ids in subsets([f"s{i}" for i in range(1, 7)])[1:]:
        assert sum(counts[s] for s in query_scopes(sensors=ids)) == sum(1 for e in sensors if e["sensor_id"] in ids)
    assert counts[SENSOR] == len(sensors) and counts[RETAIL] == len(retail)
