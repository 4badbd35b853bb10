"""The dashboard's live state in Redis, shared by every worker: KPIs, latest points, health.

Workers write through `commit` (services/lua/commit.lua): the stream acknowledgement and the
state change of a batch happen in one atomic script, so a batch is either counted and
acknowledged or neither, and a reclaimed entry is never counted twice. Web workers read with
the same methods as the in-process state (services.pipeline.live_state), so snapshots are identical
whichever web worker answers.

Keys (prefix `pulse:`): `t:<tenant>:kpi` per-second KPI summaries (hash, second -> 8 numbers),
`t:<tenant>:kpis` the latest computed KPIs (JSON, written by the leader), `t:<tenant>:points`
the newest 200 encoded points (list, newest first), `t:<tenant>:health` entity -> record (hash),
`t:<tenant>:sensors` sensor id -> its latest encoded sensor_update (hash), `tenants` (set).
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import redis

from services.pipeline.batch import TenantBatch
from services.scoring.health import least_healthy_first, public
from services.scoring.kpis import RATE_WINDOW_SECONDS, combine, empty_kpis
from services.pipeline.live_state import POINTS_KEPT, sorted_readings
from services.ingest.stream_consumer import DeadEntry
from services.redis_keys import RedisKeys
from services.config import Config

log = logging.getLogger(__name__)
COMMIT = (Path(__file__).parent / "lua" / "commit.lua").read_text()
KPI_CACHE_SECONDS = 5


@dataclass
class CommitResult:
    applied: bool
    pending: list[bool] | None          # when not applied: which entries are still ours to commit
    health: dict[str, list[dict]]       # tenant -> changed health records (public form)


class RedisLiveState:
    def __init__(self, client: redis.Redis, keys: RedisKeys, window_seconds: float = Config.kpi_window_seconds,
                 points_kept: int = POINTS_KEPT, dead_letter_maxlen: int = 100_000, clock=time.time):
        self.redis = client
        self.keys = keys
        self.window_seconds = window_seconds
        self.points_kept = points_kept
        self.dead_letter_maxlen = dead_letter_maxlen
        self.clock = clock
        self._commit = client.register_script(COMMIT)
        self.repaired = 0                   # corrupt entries skipped and deleted (a figure of system stats)
        self._warned: set[str] = set()      # keys already reported in the log

    def _repair(self, key: str, bad: list, kind: str = "hash") -> None:
        """Drop entries of `key` that did not parse (hash fields, list values, or the whole string key):
        a corrupt entry is skipped and removed, never allowed to fail every read of the tenant's state."""
        if not bad:
            return
        self.repaired += len(bad)
        if key not in self._warned:
            self._warned.add(key)
            log.warning("skipped and deleted %d corrupt entr%s of Redis key %s (counted in system stats: repaired_entries)",
                        len(bad), "y" if len(bad) == 1 else "ies", key)
        try:
            if kind == "hash":
                self.redis.hdel(key, *bad)
            elif kind == "key":
                self.redis.delete(key)
            else:
                pipe = self.redis.pipeline(transaction=False)
                for value in bad:
                    pipe.lrem(key, 1, value)
                pipe.execute()
        except redis.RedisError:
            pass        # read again next time

    def _parse_each(self, key: str, entries, parse, kind: str = "hash") -> list:
        """parse(entry) for each (name, raw) in `entries`; the ones that fail are repaired."""
        out, bad = [], []
        for name, raw in entries:
            try:
                out.append(parse(raw))
            except (ValueError, TypeError, KeyError, AttributeError):
                bad.append(name)
        self._repair(key, bad, kind)
        return out

    # -- writer (workers) ------------------------------------------------------------------------
    def commit(self, consumer: str, ack_ids: list[str], dead: list[DeadEntry],
               batches: list[TenantBatch], check: bool = True) -> CommitResult:
        """Acknowledge `ack_ids` and apply the batches, atomically. With `check`, first make sure every
        entry is still pending (another consumer may have committed it); without, the caller vouches."""
        keys = [self.keys.stream, self.keys.dead_letter, self.keys.attempts, self.keys.tenants]
        tenants = []
        for b in batches:
            keys += [self.keys.tenant(b.tenant, "kpi"), self.keys.tenant(b.tenant, "points"),
                     self.keys.tenant(b.tenant, "health"), self.keys.tenant(b.tenant, "sensors")]
            tenants.append({"name": b.tenant, "kpi": list(b.kpi) if b.kpi else None, "points": b.points,
                            "readings": [r for pair in b.readings for r in pair],
                            "health": [[entity, d.events, d.decay, d.add, d.anomalies, d.last_seen, d.identity]
                                       for entity, d in b.health.items()]})
        doc = {"group": self.keys.group, "consumer": consumer, "check": check, "ack": ack_ids,
               "dead": [[d.entry_id, d.reason, d.payload, d.attempts] for d in dead],
               "second": int(self.clock()), "points_max": self.points_kept,
               "dead_maxlen": self.dead_letter_maxlen, "tenants": tenants}
        applied, detail = self._commit(keys=keys, args=[orjson.dumps(doc)])
        if not applied:
            return CommitResult(False, [bool(f) for f in json.loads(detail)], {})
        changed = json.loads(detail) or []
        return CommitResult(True, None, {b.tenant: [public(json.loads(r)) for r in (records or [])]
                                         for b, records in zip(batches, changed)})

    # -- leader ----------------------------------------------------------------------------------
    def compute_kpis(self) -> dict[str, dict]:
        """Every tenant's KPIs from the shared buckets; cached for readers and old buckets dropped."""
        out = {}
        for tenant in self.tenants():
            kpis, stale = self._kpis_from_buckets(tenant)
            pipe = self.redis.pipeline(transaction=False)
            if stale:
                pipe.hdel(self.keys.tenant(tenant, "kpi"), *stale)
            pipe.set(self.keys.tenant(tenant, "kpis"), json.dumps(kpis), ex=KPI_CACHE_SECONDS)
            pipe.execute()
            out[tenant] = kpis
        return out

    def _kpis_from_buckets(self, tenant: str) -> tuple[dict, list]:
        now = self.clock()
        key = self.keys.tenant(tenant, "kpi")
        buckets = self.redis.hgetall(key)
        parsed = self._parse_each(key, ((f, (f, v)) for f, v in buckets.items()), _bucket)
        seconds, summaries, stale = [], [], []
        for field, second, summary in parsed:
            if second < now - self.window_seconds:
                stale.append(field)
                continue
            seconds.append(float(second))
            summaries.append(summary)
        if not summaries:
            return empty_kpis(self.window_seconds), stale
        rate_from = max(math.ceil(now - RATE_WINDOW_SECONDS), min(seconds))
        return combine(np.array(seconds), summaries, now, self.window_seconds, max(now - rate_from, 1.0)), stale

    # -- readers (web workers) -------------------------------------------------------------------
    def tenants(self) -> list[str]:
        return sorted(t.decode() for t in self.redis.smembers(self.keys.tenants))

    def kpis(self, tenant: str) -> dict:
        key = self.keys.tenant(tenant, "kpis")
        cached = self.redis.get(key)
        kpis = self._parse_each(key, [(key, cached)], _object, "key") if cached else []
        return kpis[0] if kpis else self._kpis_from_buckets(tenant)[0]

    def points(self, tenant: str, limit: int = 50) -> list[dict]:
        key = self.keys.tenant(tenant, "points")
        newest_first = self.redis.lrange(key, 0, limit - 1)
        return self._parse_each(key, ((p, p) for p in reversed(newest_first)), _object, "list")

    def health(self, tenant: str) -> list[dict]:
        key = self.keys.tenant(tenant, "health")
        records = self._parse_each(key, self.redis.hgetall(key).items(), _health_record)
        return least_healthy_first(records)

    def readings(self, tenant: str) -> list[dict]:
        key = self.keys.tenant(tenant, "sensors")
        return sorted_readings(self._parse_each(key, self.redis.hgetall(key).items(), _reading))


def _object(raw) -> dict:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise TypeError("not a JSON object")
    return value


def _health_record(raw) -> dict:
    record = public(_object(raw))
    float(record["health_score"])
    return record


def _reading(raw) -> bytes:
    record = _object(raw)
    str(record["asset_id"]), str(record["sensor_id"])
    return raw


def _bucket(item) -> tuple:
    field, value = item
    summary = [float(x) for x in value.split(b",")]
    if len(summary) != 8:
        raise ValueError("a KPI bucket has 8 numbers")
    return field, int(field), summary
