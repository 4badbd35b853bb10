"""Health score per entity (a store/department, or a sensor asset), 0 (failing) to 100 (healthy).

Health is an exponentially weighted average of (100 - risk score) over the entity's events, so it
drops quickly on a burst of risky events and recovers as normal ones come in; it answers "which
departments need attention now" rather than "what happened once".

A micro-batch is folded in as one `HealthDelta` per entity: k events change the score as
h -> h * (1 - a)^k + sum_j a (1 - a)^(k - j) x_j, so the delta is just (decay, add). That lets the
in-process store and the Redis one (a Lua script applying the same formula atomically, see
services/pipeline/redis_state.py) share the arithmetic here, and lets several workers update one entity.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

ALPHA = 0.2


@dataclass
class HealthDelta:
    identity: dict          # the fields that name the entity in messages: store/dept, or asset_id
    events: int = 0
    decay: float = 1.0
    add: float = 0.0
    anomalies: int = 0
    last_seen: str = ""


def deltas(entities: list, identities: list[dict], risk, anomaly, timestamps: list[str],
           name=str) -> dict[str, HealthDelta]:
    """One delta per entity of the batch, events folded in order (vectorised: this runs for every event).

    For an entity's k events x_0..x_{k-1} in order: decay = (1-a)^k and add = sum_j a (1-a)^(k-1-j) x_j.
    `entities` may be any hashable keys; the result is keyed by name(entity), computed once per entity.
    """
    n = len(entities)
    if n == 0:
        return {}
    codes: dict = {}
    inverse = np.fromiter((codes.setdefault(e, len(codes)) for e in entities), np.int64, n)
    counts = np.bincount(inverse)
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)            # position within its entity
    power = (counts[inverse] - 1 - rank).astype(float)
    add = np.bincount(inverse, weights=ALPHA * (1 - ALPHA) ** power * (100.0 - np.asarray(risk, float)))
    decay = (1 - ALPHA) ** counts.astype(float)
    anomalies = np.bincount(inverse, weights=np.asarray(anomaly, float))
    last = np.empty(len(counts), np.int64)
    last[inverse] = np.arange(n)                                       # the last index of each entity wins
    first = np.empty(len(counts), np.int64)
    first[inverse[::-1]] = np.arange(n)[::-1]
    out = {}
    for entity, code in codes.items():
        out[name(entity)] = HealthDelta(identities[first[code]], int(counts[code]), float(decay[code]),
                                       float(add[code]), int(anomalies[code]), timestamps[last[code]])
    return out


def apply_delta(record: dict | None, delta: HealthDelta) -> dict:
    """The stored record after a delta (a new entity starts healthy at 100). Same formula as the Lua."""
    rec = dict(record) if record else {**delta.identity, "h": 100.0, "events": 0, "anomalies": 0}
    rec["h"] = rec["h"] * delta.decay + delta.add
    rec["events"] += delta.events
    rec["anomalies"] += delta.anomalies
    rec["last_seen"] = delta.last_seen
    return rec


def public(record: dict) -> dict:
    """A stored record as clients see it: `h` becomes a rounded `health_score`."""
    out = {k: v for k, v in record.items() if k != "h"}
    out["health_score"] = round(record["h"], 1)
    return out


def least_healthy_first(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: (r["health_score"], str(r.get("asset_id", "")),
                                          r.get("store", 0), r.get("dept", 0)))


class EntityHealth:
    """In-process health records, per tenant (embedded mode)."""

    def __init__(self):
        self._records: dict[str, dict[str, dict]] = {}   # tenant -> entity -> record
        self._lock = threading.Lock()   # the ingest thread writes, web threads read snapshots

    def apply(self, tenant: str, batch: dict[str, HealthDelta]) -> list[dict]:
        """Fold a batch's deltas in; returns the changed records (public form)."""
        with self._lock:
            records = self._records.setdefault(tenant, {})
            for entity, delta in batch.items():
                records[entity] = apply_delta(records.get(entity), delta)
            return [public(records[e]) for e in batch]

    def snapshot(self, tenant: str) -> list[dict]:
        """Every entity of a tenant, least healthy first."""
        with self._lock:
            records = [public(r) for r in self._records.get(tenant, {}).values()]
        return least_healthy_first(records)
