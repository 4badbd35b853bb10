"""Where the history is kept: one interface, and its implementation on the deployment's database.

`HistoryStore` is what the writer, the API and the export use; `SqlHistoryStore` keeps raw events and
rollups in the relational database (SQLite embedded, PostgreSQL distributed) through SQLAlchemy Core.
A column store could replace it behind the same four methods.

Reading a range: rollup buckets (1m, 1h; 1d sums the hours of each UTC day) come from
`history_rollups`, a few hundred rows for any chart; raw points from `history_events` through the
(tenant, store, dept, received) or (tenant, asset, sensor, received) index. Event time (`time=event`)
is only in the raw table: its buckets are summed there, so it reaches back as far as raw is kept.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import replace
from itertools import chain
from operator import itemgetter
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import BigInteger, Integer, and_, case, cast, func, literal_column, select

from services.analysis.export import CRLF
from services.history.export import CHUNK_ROWS, csv_chunks, raw_csv_lines, raw_csv_select
from services.history.query import BUCKETS, MAX_POINTS, HistoryQuery, finest_bucket, raw_may_answer
from services.history.rows import COLUMNS, HOUR, MINUTE, PROFILE, PROFILE_COLUMNS, ROLLUP_COLUMNS
from services.storage.bulk import BulkInsert
from services.storage.db import Database
from services.storage.schema import history_events as events, history_rollups as rollups

RAW_FIELDS = ("received", "timestamp", "event_id", "profile", "store", "dept", "asset_id", "sensor_id", "sensor_type",
              "value", "unit", "temperature", "is_holiday", "fuel_price", "cpi", "unemployment", "anomaly",
              "anomaly_score", "risk_score", "risk_level", "cluster", "model_version")
TRIM_BATCH, TRIM_PAUSE = 5000, 0.02     # rows per retention transaction, seconds between them
BUCKET_FIELDS = ("start", "count", "sum", "min", "max", "mean", "anomalies", "max_risk")


def _whole(total):
    """A SUM of integers as an integer (PostgreSQL sums BIGINT as NUMERIC: a Decimal in Python)."""
    return cast(total, BigInteger)


def iso(epoch: float) -> str:
    return IsoStamps()(epoch)


class HistoryStore(ABC):
    @abstractmethod
    def write(self, rows: list[tuple], rollup_rows: list[tuple]) -> None:
        """Raw rows (services.history.rows.event_rows: tuples in rows.COLUMNS order) and rollup deltas
        (RollupDeltas.scope_rows: rows.ROLLUP_COLUMNS), in one transaction."""

    @abstractmethod
    def series(self, tenant: str, query: HistoryQuery, raw_since: float) -> dict:
        """{"bucket", "series", "truncated"}: the query's points; raw only for times after `raw_since`."""

    @abstractmethod
    def export(self, tenant: str, query: HistoryQuery) -> Iterator[str]:
        """The query's rows as CSV text (services.history.export: the header first, injection-safe,
        numbers exact), a chunk at a time: flat memory whatever the range. `query.bucket` is set."""

    @abstractmethod
    def trim(self, raw_before: float, rollups_before: float, batch: int = 5000, stop=None) -> dict:
        """Delete raw events received before `raw_before` and rollups older than `rollups_before`,
        `batch` rows per transaction; {"events": n, "rollups": n}."""


class SqlHistoryStore(HistoryStore):
    def __init__(self, db: Database):
        self.db = db
        # One insert per profile, of only the columns it fills: a None costs the sqlite3 module four times
        # what a number does to bind (it takes the adapter path), and a retail row has four, a sensor row seven.
        self._insert_events = {profile: (itemgetter(*(COLUMNS.index(c) for c in columns)),
                                         BulkInsert(db, events.insert().inline(), columns))   # inline: no RETURNING id
                               for profile, columns in PROFILE_COLUMNS.items()}
        self._upsert_rollups = BulkInsert(db, self._upsert(), ROLLUP_COLUMNS)

    # -- writing -----------------------------------------------------------------------------------
    def write(self, rows: list[tuple], rollup_rows: list[tuple]) -> None:
        with self.db.connect() as conn:
            if rows:
                by_profile: dict[str, list] = {}
                for row in rows:
                    by_profile.setdefault(row[PROFILE], []).append(row)
                for profile, some in by_profile.items():
                    project, insert = self._insert_events[profile]
                    insert(conn, [project(r) for r in some])
            if rollup_rows:
                self._upsert_rollups(conn, rollup_rows)

    def _upsert(self):
        statement = self.db.insert(rollups)
        new = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=["tenant", "scope", "bucket", "start"],
            set_={"count": rollups.c.count + new.count, "total": rollups.c.total + new.total,
                  "low": case((new.low < rollups.c.low, new.low), else_=rollups.c.low),
                  "high": case((new.high > rollups.c.high, new.high), else_=rollups.c.high),
                  "anomalies": rollups.c.anomalies + new.anomalies,
                  "max_risk": case((new.max_risk > rollups.c.max_risk, new.max_risk), else_=rollups.c.max_risk)})

    # -- reading -----------------------------------------------------------------------------------
    def _raw_filter(self, tenant: str, q: HistoryQuery, since: float | None = None):
        """The clock column and the WHERE of `q` over raw events. A filter implies the profile (only retail
        rows have a store or dept, only sensor rows an asset, sensor or type), and leaving the profile
        out then lets a count be answered from the filter's index alone."""
        clock = events.c.received if q.clock == "received" else events.c.ts
        where = [events.c.tenant == tenant, clock >= max(q.start, since or q.start), clock < q.end]
        for column, values in ((events.c.store, q.stores), (events.c.dept, q.depts), (events.c.asset_id, q.assets),
                               (events.c.sensor_id, q.sensors), (events.c.sensor_type, q.sensor_types)):
            if values:
                where.append(column.in_(values))
        if len(where) == 3:
            where.append(events.c.profile == q.profile)
        return clock, and_(*where)

    def resolve(self, tenant: str, q: HistoryQuery, raw_since: float) -> str:
        """The bucket to answer with: the one asked for, else the finest with <= MAX_POINTS points."""
        if q.bucket is not None:
            return q.bucket
        if raw_may_answer(q, raw_since):
            _, where = self._raw_filter(tenant, q)
            few = select(literal_column("1")).select_from(events).where(where).limit(MAX_POINTS + 1).subquery()
            if self._scalar(select(func.count()).select_from(few)) <= MAX_POINTS:
                return "raw"
        return finest_bucket(q.end - q.start)

    def _scalar(self, statement):
        with self.db.connect() as conn:
            return conn.execute(statement).scalar()

    def series(self, tenant: str, query: HistoryQuery, raw_since: float) -> dict:
        bucket = self.resolve(tenant, query, raw_since)
        q = query.with_bucket(bucket)
        stamp = IsoStamps()
        if bucket == "raw":
            clock, where = self._raw_filter(tenant, q, raw_since if q.clock == "received" else None)
            rows = self._rows(select(*(events.c[f] for f in RAW_FIELDS)).where(where)
                              .order_by(clock, events.c.id).limit(q.limit + 1))
            points = [self._raw_point(r, q.clock, stamp) for r in rows[:q.limit]]
            return {"bucket": bucket, "series": points, "truncated": len(rows) > q.limit}
        rows = self._rows(self._bucket_select(tenant, q))
        return {"bucket": bucket, "series": [self._bucket_point(r, stamp) for r in rows], "truncated": False}

    def _rows(self, statement) -> list:
        with self.db.connect() as conn:
            return conn.execute(statement).all()

    @staticmethod
    def _raw_point(r, clock: str, stamp) -> dict:
        """A raw row (RAW_FIELDS) as an API point: fields it does not have left out."""
        point = {f: v for f, v in zip(RAW_FIELDS, r) if v is not None}
        point["t"] = point["received"] = stamp(point["received"])
        if clock == "event":
            point["t"] = point["timestamp"]
        point["anomaly"] = bool(point["anomaly"])
        return point

    @staticmethod
    def _bucket_point(r, stamp) -> dict:
        """A bucket row (start, count, total, low, high, anomalies, max_risk) as an API point."""
        start, count, total, low, high, anomalies, max_risk = r
        return {"t": stamp(start), "count": count, "sum": total, "min": low, "max": high,
                "mean": total / count if count else None, "anomalies": anomalies, "max_risk": max_risk}

    def _bucket_select(self, tenant: str, q: HistoryQuery):
        size = BUCKETS[q.bucket]
        if q.clock == "event":      # summed from the raw events' own timestamps, whole buckets as the rollups
            whole = replace(q, start=q.start // size * size, end=-(-q.end // size) * size)
            clock, where = self._raw_filter(tenant, whole)
            start = (func.floor(clock / size) if self.db.dialect == "postgresql"
                     else cast(clock / size, Integer)) * size
            return (select(start.label("start"), func.count().label("count"), func.sum(events.c.value).label("total"),
                           func.min(events.c.value).label("low"), func.max(events.c.value).label("high"),
                           _whole(func.sum(events.c.anomaly)).label("anomalies"), func.max(events.c.risk_score).label("max_risk"))
                    .where(where).group_by(start).order_by(start))
        stored = min(size, BUCKETS["1h"])
        start = rollups.c.start if size == stored else rollups.c.start - rollups.c.start % size
        where = and_(rollups.c.tenant == tenant, rollups.c.bucket == stored, rollups.c.scope.in_(q.scopes),
                     rollups.c.start >= int(q.start // size * size), rollups.c.start < q.end)
        return (select(start.label("start"), _whole(func.sum(rollups.c.count)).label("count"),
                       func.sum(rollups.c.total).label("total"), func.min(rollups.c.low).label("low"),
                       func.max(rollups.c.high).label("high"), _whole(func.sum(rollups.c.anomalies)).label("anomalies"),
                       func.max(rollups.c.max_risk).label("max_risk"))
                .where(where).group_by(start).order_by(start))

    # -- export ------------------------------------------------------------------------------------
    def export(self, tenant: str, query: HistoryQuery) -> Iterator[str]:
        if query.bucket != "raw":
            stamp = IsoStamps()
            points = (self._bucket_point(r, stamp) for rows in self._stream(self._bucket_select(tenant, query))
                      for r in rows)
            yield from csv_chunks(chain([BUCKET_FIELDS], (tuple(p["t"] if f == "start" else p[f]
                                                                 for f in BUCKET_FIELDS) for p in points)))
            return
        yield ",".join(RAW_FIELDS) + CRLF
        clock, where = self._raw_filter(tenant, query)
        statement = select(*raw_csv_select(events, RAW_FIELDS, self.db.dialect)).where(where)
        for rows in self._stream(statement.order_by(clock, events.c.id)):
            yield raw_csv_lines(rows)

    def _stream(self, statement, chunk: int = CHUNK_ROWS) -> Iterator[list[tuple]]:
        """The rows of `statement` in lists of up to `chunk`, as the driver's own tuples read from its own
        cursor (no SQLAlchemy row per row; on PostgreSQL a server-side cursor), so memory stays flat for
        any number of rows. (SQLAlchemy's streaming result reads a row ahead, so its cursor is not used.)"""
        compiled = statement.compile(dialect=self.db.engine.dialect, compile_kwargs={"render_postcompile": True})
        params = (tuple(compiled.params[name] for name in compiled.positiontup) if compiled.positional
                  else compiled.params)
        with self.db.connect() as conn:
            driver = conn.connection.driver_connection
            cursor = driver.cursor(name="history_export") if self.db.dialect == "postgresql" else driver.cursor()
            try:
                cursor.execute(str(compiled), params)
                while rows := cursor.fetchmany(chunk):
                    yield rows
            finally:
                cursor.close()

    # -- retention ---------------------------------------------------------------------------------
    def tenants(self) -> list[str]:
        """Every tenant with raw events or rollups: one index seek per tenant (never a scan of millions
        of rows for a handful of names)."""
        found = set()
        for table in (events, rollups):
            last = None
            while True:
                after = select(table.c.tenant).order_by(table.c.tenant).limit(1)
                last = self._scalar(after if last is None else after.where(table.c.tenant > last))
                if last is None:
                    break
                found.add(last)
        return sorted(found)

    def trim(self, raw_before: float, rollups_before: float, batch: int = TRIM_BATCH, stop=None,
             pause: float = TRIM_PAUSE) -> dict:
        """Short transactions of at most about `batch` rows each, `pause` seconds apart (on SQLite the
        writer and the pipeline's alert writes get the lock in between; `stop` ends it early)."""
        deleted = {"events": 0, "rollups": 0}
        stop = stop or threading.Event()
        for tenant in self.tenants():
            while not stop.is_set():
                doomed = (select(events.c.id).where(events.c.tenant == tenant, events.c.received < raw_before)
                          .limit(batch).scalar_subquery())
                with self.db.connect() as conn:
                    n = conn.execute(events.delete().where(events.c.id.in_(doomed))).rowcount
                deleted["events"] += n
                if n < batch or stop.wait(pause):
                    break
        for bucket in (MINUTE, HOUR):
            while not stop.is_set():
                first = select(rollups.c.start).where(rollups.c.bucket == bucket).order_by(rollups.c.start).limit(1)
                oldest = self._scalar(first)
                if oldest is None or oldest >= rollups_before:
                    break
                boundary = self._scalar(first.where(rollups.c.start >= oldest).offset(batch))   # the (batch+1)th row
                upto = min(rollups_before, max(boundary or rollups_before, oldest + bucket))
                with self.db.connect() as conn:
                    deleted["rollups"] += conn.execute(rollups.delete().where(
                        rollups.c.bucket == bucket, rollups.c.start < upto)).rowcount
                if stop.wait(pause):
                    break
        return deleted


class IsoStamps:
    """ISO text (UTC, milliseconds, Z) of epoch floats, rounded half up to the millisecond as the raw
    export's SQL rounds; the hour's prefix is reused (a chart or a raw range formats thousands)."""

    def __init__(self):
        self.hour, self.prefix = None, ""

    def __call__(self, epoch: float) -> str:
        hour, ms = divmod(int(epoch * 1000 + 0.5), 3_600_000)
        if hour != self.hour:
            self.hour = hour
            self.prefix = datetime.fromtimestamp(hour * 3600, timezone.utc).strftime("%Y-%m-%dT%H:")
        minute, ms = divmod(ms, 60_000)
        return f"{self.prefix}{minute:02d}:{ms // 1000:02d}.{ms % 1000:03d}Z"
