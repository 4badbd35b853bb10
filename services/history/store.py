"""Where the history is kept: one interface, and its implementation on the deployment's database.

`HistoryStore` is what the writer, the API and the export use; `SqlHistoryStore` keeps raw events in
blocks (services/storage/event_blocks.py: one row per tenant x profile x minute per write) and rollups in the relational
database (SQLite embedded, PostgreSQL distributed) through SQLAlchemy Core. A column store could replace
it behind the same four methods.

Reading a range: rollup buckets (1m, 1h; 1d sums the hours of each UTC day) come from
`history_rollups`, a few hundred rows for any chart; raw points from the blocks touching the range
(services.history.raw), by the (tenant, profile, first time) index. Event time (`time=event`) is only
in the raw events: its buckets are summed from them, so it reaches back as far as raw is kept.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import replace
from itertools import chain
from datetime import datetime, timezone
from typing import Iterator

import numpy as np
from sqlalchemy import BigInteger, Integer, and_, case, cast, func, select

from services.analysis.export import CRLF
from services.storage.event_blocks import NULL_INT, SPAN, Block, decode, split
from services.history.export import CHUNK_ROWS, RawCsv, csv_chunks
from services.history.query import BUCKETS, MAX_POINTS, HistoryQuery, finest_bucket, raw_may_answer
from services.history.raw import RawReader
from services.history.rows import HOUR, MINUTE, ROLLUP_COLUMNS
from services.history.scopes import RETAIL, SENSOR
from services.storage.bulk import BulkInsert
from services.storage.db import Database
from services.storage.schema import history_blocks as blocks, history_rollups as rollups

RAW_FIELDS = ("received", "timestamp", "event_id", "profile", "store", "dept", "asset_id", "sensor_id", "sensor_type",
              "value", "unit", "temperature", "is_holiday", "fuel_price", "cpi", "unemployment", "anomaly",
              "anomaly_score", "risk_score", "risk_level", "cluster", "model_version")
TRIM_BATCH, TRIM_PAUSE = 5000, 0.02     # events or rollup rows per retention transaction, seconds between them
TRIM_BLOCKS = 100                       # blocks looked at per retention transaction
COMPACT_BELOW, COMPACT_MINUTES = 2000, 500   # a block this small is merged with its minute's; minutes per call
BUCKET_FIELDS = ("start", "count", "sum", "min", "max", "mean", "anomalies", "max_risk")


def _whole(total):
    """A SUM of integers as an integer (PostgreSQL sums BIGINT as NUMERIC: a Decimal in Python)."""
    return cast(total, BigInteger)


def iso(epoch: float) -> str:
    return IsoStamps()(epoch)


class HistoryStore(ABC):
    @abstractmethod
    def write(self, raw: list[Block], rollup_rows: list[tuple]) -> None:
        """Raw events as blocks (services.history.blocks.batch_blocks) and rollup deltas
        (RollupDeltas.scope_rows: rows.ROLLUP_COLUMNS), in one transaction."""

    @abstractmethod
    def series(self, tenant: str, query: HistoryQuery, raw_since: float) -> dict:
        """{"bucket", "series", "truncated"}: the query's points; raw only for times after `raw_since`."""

    @abstractmethod
    def export(self, tenant: str, query: HistoryQuery) -> Iterator[str]:
        """The query's rows as CSV text (services.history.export: the header first, injection-safe,
        numbers exact), a chunk at a time: flat memory whatever the range. `query.bucket` is set."""

    def compact(self, after: float, before: float) -> float:
        """Merge small raw blocks of the minutes starting in [after, before); where the next call should
        start. A store that keeps raw events otherwise has nothing to merge."""
        return before

    @abstractmethod
    def trim(self, raw_before: float, rollups_before: float, batch: int = 5000, stop=None) -> dict:
        """Delete raw events received before `raw_before` (whole blocks) and rollups older than
        `rollups_before`, about `batch` rows per transaction; {"events": n, "rollups": n}."""


class SqlHistoryStore(HistoryStore):
    def __init__(self, db: Database):
        self.db = db
        self._upsert_rollups = BulkInsert(db, self._upsert(), ROLLUP_COLUMNS)
        self.raw = RawReader(self._stream, self._scalar)

    # -- writing -----------------------------------------------------------------------------------
    def write(self, raw: list[Block], rollup_rows: list[tuple]) -> None:
        with self.db.connect() as conn:
            if raw:
                conn.execute(blocks.insert(), [block.row() for block in raw])
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
    def resolve(self, tenant: str, q: HistoryQuery, raw_since: float) -> str:
        """The bucket to answer with: the one asked for, else the finest with <= MAX_POINTS points. On
        received time the minute rollups of q's scopes tell (the minutes inside the range hold too many,
        or the minutes touching it few enough); otherwise, or when that is not decided, the candidate
        blocks' counts, then the matching events counted block by block until they exceed the budget."""
        if q.bucket is not None:
            return q.bucket
        if raw_may_answer(q, raw_since):
            since = raw_since if q.clock == "received" else None
            if since is not None:
                inside, touching = self._minute_counts(tenant, replace(q, start=max(q.start, since)))
                if touching <= MAX_POINTS:
                    return "raw"
                if inside > MAX_POINTS:
                    return finest_bucket(q.end - q.start)
            if self.raw.upper_bound(tenant, q, since) <= MAX_POINTS:
                return "raw"
            found = 0
            for chunk in self.raw.chunks(tenant, q, since, ordered=False, fields=("seq",)):
                found += len(chunk["seq"])
                if found > MAX_POINTS:
                    break
            else:
                return "raw"
        return finest_bucket(q.end - q.start)

    def _minute_counts(self, tenant: str, q: HistoryQuery) -> tuple[int, int]:
        """Events of q's scopes received in the whole minutes inside [q.start, q.end), and in the minutes
        touching it (the minute rollups)."""
        first, last = int(-(-q.start // MINUTE) * MINUTE), q.end - MINUTE
        inside = case((and_(rollups.c.start >= first, rollups.c.start <= last), rollups.c.count), else_=0)
        total = func.coalesce(_whole(func.sum(rollups.c.count)), 0)
        row = self._rows(select(func.coalesce(_whole(func.sum(inside)), 0), total)
                         .where(rollups.c.tenant == tenant, rollups.c.bucket == MINUTE, rollups.c.scope.in_(q.scopes),
                                rollups.c.start >= int(q.start // MINUTE * MINUTE), rollups.c.start < q.end))[0]
        return int(row[0]), int(row[1])

    def _scalar(self, statement):
        with self.db.connect() as conn:
            return conn.execute(statement).scalar()

    def series(self, tenant: str, query: HistoryQuery, raw_since: float) -> dict:
        bucket = self.resolve(tenant, query, raw_since)
        q = query.with_bucket(bucket)
        stamp = IsoStamps()
        if bucket == "raw":
            points: list[dict] = []
            for chunk in self.raw.chunks(tenant, q, raw_since if q.clock == "received" else None):
                points += self._raw_points(chunk, q, stamp, q.limit + 1 - len(points))
                if len(points) > q.limit:
                    break
            return {"bucket": bucket, "series": points[:q.limit], "truncated": len(points) > q.limit}
        rows = self._event_buckets(tenant, q) if q.clock == "event" else self._rows(self._bucket_select(tenant, q))
        return {"bucket": bucket, "series": [self._bucket_point(r, stamp) for r in rows], "truncated": False}

    def _rows(self, statement) -> list:
        with self.db.connect() as conn:
            return conn.execute(statement).all()

    @staticmethod
    def _raw_points(chunk: dict, q: HistoryQuery, stamp, most: int) -> list[dict]:
        """Up to `most` events of a chunk as API points: fields an event does not have left out."""
        fields = [f for f in RAW_FIELDS if f in chunk]
        columns = [chunk[f][:most].tolist() for f in fields]
        points = []
        for values in zip(*columns):
            point = {f: v for f, v in zip(fields, values) if v is not None and v == v and v != NULL_INT}
            point["profile"] = q.profile
            point["t"] = point["received"] = stamp(point["received"])
            if q.clock == "event":
                point["t"] = point["timestamp"]
            point["anomaly"] = bool(point["anomaly"])
            points.append(point)
        return points

    @staticmethod
    def _bucket_point(r, stamp) -> dict:
        """A bucket row (start, count, total, low, high, anomalies, max_risk) as an API point."""
        start, count, total, low, high, anomalies, max_risk = r
        return {"t": stamp(start), "count": count, "sum": total, "min": low, "max": high,
                "mean": total / count if count else None, "anomalies": anomalies, "max_risk": max_risk}

    def _event_buckets(self, tenant: str, q: HistoryQuery) -> list[tuple]:
        """Buckets summed from the raw events' own timestamps, whole buckets as the rollups."""
        size = BUCKETS[q.bucket]
        whole = replace(q, start=q.start // size * size, end=-(-q.end // size) * size)
        cells: dict[int, list] = {}
        for chunk in self.raw.chunks(tenant, whole, ordered=False, fields=("ts", "value", "anomaly", "risk_score")):
            starts = (np.floor_divide(chunk["ts"], size) * size).astype(np.int64)
            order = np.argsort(starts, kind="stable")
            starts, value = starts[order], chunk["value"][order]
            first = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1]])
            figures = zip(starts[first].tolist(), np.diff(np.r_[first, len(starts)]).tolist(),
                          np.add.reduceat(value, first).tolist(), np.minimum.reduceat(value, first).tolist(),
                          np.maximum.reduceat(value, first).tolist(),
                          np.add.reduceat(chunk["anomaly"][order], first).tolist(),
                          np.maximum.reduceat(chunk["risk_score"][order], first).tolist())
            for start, count, total, low, high, anomalies, risk in figures:
                cell = cells.get(start)
                if cell is None:
                    cells[start] = [count, total, low, high, anomalies, risk]
                else:
                    cell[0] += count
                    cell[1] += total
                    cell[2], cell[3] = min(cell[2], low), max(cell[3], high)
                    cell[4] += anomalies
                    cell[5] = max(cell[5], risk)
        return [(start, *cells[start]) for start in sorted(cells)]

    def _bucket_select(self, tenant: str, q: HistoryQuery):
        """The rollup buckets of q (received time)."""
        size = BUCKETS[q.bucket]
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
            rows = self._event_buckets(tenant, query) if query.clock == "event" else (
                r for rows in self._stream(self._bucket_select(tenant, query)) for r in rows)
            yield from csv_chunks(chain([BUCKET_FIELDS], (tuple(p["t"] if f == "start" else p[f] for f in BUCKET_FIELDS)
                                                          for p in (self._bucket_point(r, stamp) for r in rows))))
            return
        yield ",".join(RAW_FIELDS) + CRLF
        text = RawCsv(query.profile, RAW_FIELDS)
        for chunk in self.raw.chunks(tenant, query):
            for first in range(0, len(chunk["received"]), CHUNK_ROWS):
                yield text({name: values[first:first + CHUNK_ROWS] for name, values in chunk.items()})

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

    # -- compaction --------------------------------------------------------------------------------
    def compact(self, after: float, before: float, small: int = COMPACT_BELOW, most: int = COMPACT_MINUTES) -> float:
        """Merge the blocks of fewer than `small` events of each minute whose blocks start in [after,
        before) into one block per minute (split again by event-time minute), at most `most` minutes;
        returns where the next call should start. Why: at a low rate a write holds a few events, and a
        reader pays tens of microseconds per block (an hour at SIM_RATE=5 is 7,200 blocks of three).
        Blocks keep their events' `seq`, so reads order them as before."""
        minute = (func.floor(blocks.c.first_received / SPAN) if self.db.dialect == "postgresql"
                  else cast(blocks.c.first_received / SPAN, Integer))
        done = before
        for tenant in self.tenants():
            for profile in (RETAIL, SENSOR):
                where = and_(blocks.c.tenant == tenant, blocks.c.profile == profile, blocks.c.first_received >= after,
                             blocks.c.first_received < before, blocks.c.count < small)
                windows = [int(w) for (w,) in self._rows(select(minute).where(where).group_by(minute)
                                                       .having(func.count() > 1).order_by(minute).limit(most))]
                for window in windows:
                    self._merge(tenant, profile, window * SPAN, small)
                if len(windows) == most:
                    done = min(done, (windows[-1] + 1) * SPAN)
        return done

    def _merge(self, tenant: str, profile: str, start: float, small: int) -> None:
        with self.db.connect(begin="BEGIN IMMEDIATE") as conn:     # read, then write: the lock first (SQLite)
            found = conn.execute(select(blocks.c.id, blocks.c.payload).where(
                blocks.c.tenant == tenant, blocks.c.profile == profile, blocks.c.first_received >= start,
                blocks.c.first_received < start + SPAN, blocks.c.count < small)).all()
            if len(found) < 2:
                return
            parts = [decode(profile, payload) for _, payload in found]
            columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
            merged = split(tenant, profile, columns)
            conn.execute(blocks.delete().where(blocks.c.id.in_([block_id for block_id, _ in found])))
            conn.execute(blocks.insert(), [block.row() for block in merged])

    # -- retention ---------------------------------------------------------------------------------
    def tenants(self) -> list[str]:
        """Every tenant with raw events or rollups: one index seek per tenant (never a scan of millions
        of rows for a handful of names)."""
        found = set()
        for table in (blocks, rollups):
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
        """Short transactions of at most about `batch` events (whole blocks) or rollup rows each, `pause`
        seconds apart (on SQLite the writer and the pipeline's alert writes get the lock in between; `stop`
        ends it early). A block goes once its newest event is older than `raw_before`."""
        deleted = {"events": 0, "rollups": 0}
        stop = stop or threading.Event()
        for tenant, profile in ((t, p) for t in self.tenants() for p in (RETAIL, SENSOR)):
            while not stop.is_set():           # the oldest blocks through (tenant, profile, first_received)
                candidates = self._rows(select(blocks.c.id, blocks.c.count).where(
                    blocks.c.tenant == tenant, blocks.c.profile == profile, blocks.c.first_received < raw_before,
                    blocks.c.last_received < raw_before).order_by(blocks.c.first_received).limit(TRIM_BLOCKS))
                doomed, events = [], 0
                for block_id, count in candidates:          # whole blocks up to about `batch` events
                    if doomed and events + count > batch:
                        break
                    doomed.append(block_id)
                    events += count
                if not doomed:
                    break
                with self.db.connect() as conn:
                    conn.execute(blocks.delete().where(blocks.c.id.in_(doomed)))
                deleted["events"] += events
                if stop.wait(pause):
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
