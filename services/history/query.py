"""A history request, checked: the range, the filters and the bucket, from URL parameters.

Pure (no I/O): the web layer passes `request.args`, gets a `HistoryQuery` or a `QueryError` naming
the parameter (answered 400). Times are ISO 8601; one without an offset is read as UTC. `from`
defaults to an hour before `to`, `to` to now. The bucket, when not given, is the finest whose
points for the range stay within MAX_POINTS: raw (only where raw events are still kept and there
are few enough of them; the store decides that, it has to count), 1 minute, 1 hour, 1 day.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from services.history.scopes import RETAIL, SENSOR, query_scopes

MAX_POINTS = 2000
BUCKETS = {"raw": 0, "1m": 60, "1h": 3600, "1d": 86400}
MAX_VALUES = 200                      # values per filter: a URL of 200 stores is a choice, 10,000 a mistake
MAX_RANGE_DAYS = 3660
CLOCKS = ("received", "event")


class QueryError(ValueError):
    def __init__(self, parameter: str, reason: str):
        super().__init__(f"'{parameter}' {reason}")
        self.parameter = parameter


@dataclass(frozen=True)
class HistoryQuery:
    start: float                      # epoch seconds, inclusive
    end: float                        # epoch seconds, exclusive
    bucket: str | None                # raw, 1m, 1h, 1d; None: choose (HistoryStore.resolve)
    clock: str = "received"           # which time the range and the buckets use
    profile: str = RETAIL
    stores: tuple[int, ...] = ()
    depts: tuple[int, ...] = ()
    assets: tuple[str, ...] = ()
    sensors: tuple[str, ...] = ()
    sensor_types: tuple[str, ...] = ()
    limit: int = field(default=10_000)   # raw points at most (the answer says when it was cut)

    @property
    def scopes(self) -> list[str]:
        scopes = query_scopes(self.stores, self.depts, self.assets, self.sensors, self.sensor_types)
        return [SENSOR] if scopes == [RETAIL] and self.profile == SENSOR else scopes

    def with_bucket(self, bucket: str) -> "HistoryQuery":
        return replace(self, bucket=bucket)


_SPACED_OFFSET = re.compile(r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


def parse_time(parameter: str, value: str) -> float:
    """Epoch seconds of an ISO 8601 time. An offset's `+` sent unencoded in a URL arrives as a space
    (`10:00:00 02:00`): read as `+02:00`. A date and time may be separated by a space too."""
    value = _SPACED_OFFSET.sub(r"\1+\2", value.strip())
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(parameter, f"is not an ISO 8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _values(args, name: str) -> list[str]:
    """Repeated (`store=1&store=2`) or comma-separated (`store=1,2`) values, blanks dropped."""
    raw = args.getlist(name) if hasattr(args, "getlist") else ([args[name]] if name in args else [])
    values = [v.strip() for item in raw for v in str(item).split(",") if v.strip()]
    if len(values) > MAX_VALUES:
        raise QueryError(name, f"takes at most {MAX_VALUES} values")
    return values


def _ints(args, name: str) -> tuple[int, ...]:
    out = []
    for value in _values(args, name):
        if not (value.isascii() and value.isdigit()) or not 0 < int(value) < 2**31:
            raise QueryError(name, f"must be positive integers, got {value[:20]!r}")
        out.append(int(value))
    return tuple(sorted(set(out)))


def _names(args, name: str) -> tuple[str, ...]:
    values = _values(args, name)
    if any(len(v) > 200 for v in values):
        raise QueryError(name, "values must be at most 200 characters")
    return tuple(sorted(set(values)))


PARAMETERS = ("from", "to", "store", "dept", "asset_id", "sensor_id", "sensor_type", "bucket", "time", "profile")


def parse(args, now: float) -> HistoryQuery:
    """`args`: a mapping (Flask's request.args, or a dict) of the documented parameters; any other
    parameter is refused (a misspelt `sotre=3` must not silently answer every store)."""
    unknown = sorted(set(args) - set(PARAMETERS))
    if unknown:
        raise QueryError(unknown[0][:40], f"is not a parameter (known: {', '.join(PARAMETERS)})")
    end = parse_time("to", args["to"]) if args.get("to") else now
    start = parse_time("from", args["from"]) if args.get("from") else end - 3600
    if start >= end:
        raise QueryError("from", "must be before 'to'")
    if end - start > MAX_RANGE_DAYS * 86400:
        raise QueryError("from", f"the range may span at most {MAX_RANGE_DAYS} days")
    bucket = args.get("bucket") or None
    if bucket is not None and bucket not in BUCKETS:
        raise QueryError("bucket", f"must be one of {', '.join(BUCKETS)}")
    clock = args.get("time") or "received"
    if clock not in CLOCKS:
        raise QueryError("time", f"must be one of {', '.join(CLOCKS)}")
    profile = args.get("profile") or None
    if profile is not None and profile not in (RETAIL, SENSOR):
        raise QueryError("profile", "must be retail or sensor")
    query = HistoryQuery(start, end, bucket, clock, RETAIL, _ints(args, "store"), _ints(args, "dept"),
                         _names(args, "asset_id"), _names(args, "sensor_id"), _names(args, "sensor_type"))
    sensor_filters = query.assets or query.sensors or query.sensor_types
    retail_filters = query.stores or query.depts
    if sensor_filters and retail_filters:
        raise QueryError("store" if query.stores else "dept", "cannot be combined with asset_id, sensor_id or sensor_type")
    if (profile == RETAIL and sensor_filters) or (profile == SENSOR and retail_filters):
        raise QueryError("profile", f"'{profile}' does not match the filters given")
    return replace(query, profile=profile or (SENSOR if sensor_filters else RETAIL))


def raw_may_answer(query: HistoryQuery, raw_since: float) -> bool:
    """Raw events can answer the whole range: on received time, when it starts where raw is still kept
    (`raw_since`); on event time always (event-time buckets are summed from the raw events)."""
    return query.clock == "event" or query.start >= raw_since


def finest_bucket(seconds: float) -> str:
    """The finest rollup bucket giving at most MAX_POINTS points over `seconds`."""
    for name in ("1m", "1h"):
        if seconds / BUCKETS[name] <= MAX_POINTS:
            return name
    return "1d"
