"""Per store/department health score, 0 (failing) to 100 (healthy).

Health is an exponentially weighted average of (100 - risk score) over the entity's events, so it
drops quickly on a burst of risky events and recovers as normal ones come in; it answers "which
departments need attention now" rather than "what happened once".
"""
from __future__ import annotations

import threading

import numpy as np

ALPHA = 0.2


class EntityHealth:
    def __init__(self):
        self._entities: dict[tuple, dict] = {}   # (tenant, store, dept) -> record
        self._lock = threading.Lock()   # the ingest thread writes, web threads read snapshots

    def update(self, keys: list[tuple], risk: np.ndarray, anomaly: np.ndarray, timestamps: list[str]) -> set:
        """Fold a batch in; returns the keys whose record changed."""
        changed = set()
        with self._lock:
            self._fold(keys, risk, anomaly, timestamps, changed)
        return changed

    def _fold(self, keys, risk, anomaly, timestamps, changed) -> None:
        for key, r, a, ts in zip(keys, risk.tolist(), anomaly.tolist(), timestamps):
            rec = self._entities.get(key)
            if rec is None:
                rec = self._entities[key] = {"store": key[1], "dept": key[2], "health": 100.0,
                                             "events": 0, "anomalies": 0, "last_seen": ts}
            rec["health"] += ALPHA * ((100 - r) - rec["health"])
            rec["events"] += 1
            rec["anomalies"] += int(a)
            rec["last_seen"] = ts
            changed.add(key)

    def records(self, keys) -> list[dict]:
        with self._lock:
            return [self._record(k) for k in keys]

    def _record(self, key: tuple) -> dict:
        rec = self._entities[key]
        return {"store": rec["store"], "dept": rec["dept"], "health_score": round(rec["health"], 1),
                "events": rec["events"], "anomalies": rec["anomalies"], "last_seen": rec["last_seen"]}

    def snapshot(self, tenant: str) -> list[dict]:
        """Every entity of a tenant, least healthy first."""
        with self._lock:
            records = [self._record(k) for k in self._entities if k[0] == tenant]
        return sorted(records, key=lambda r: (r["health_score"], r["store"], r["dept"]))
