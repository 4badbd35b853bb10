"""What the dashboard shows right now (KPIs, latest points, health, sensor readings), kept in one process.

This is the embedded-mode state: the ingest thread applies each micro-batch, web threads read.
Distributed mode keeps the same state in Redis (services/pipeline/redis_state.py, same reader methods), so
every web worker shows identical KPIs and points whichever worker processed the events.
"""
from __future__ import annotations

import json
import threading
from collections import deque

from services.pipeline.batch import TenantBatch
from services.scoring.health import EntityHealth
from services.scoring.kpis import KpiWindow, empty_kpis
from services.config import Config

POINTS_KEPT = 200


class MemoryLiveState:
    def __init__(self, window_seconds: float = Config.kpi_window_seconds, points_kept: int = POINTS_KEPT):
        self.window_seconds = window_seconds
        self.points_kept = points_kept
        self._windows: dict[str, KpiWindow] = {}
        self._points: dict[str, deque] = {}
        self._kpis: dict[str, dict] = {}
        self._readings: dict[str, dict[str, str]] = {}    # tenant -> sensor id -> encoded sensor_update
        self.health_store = EntityHealth()
        self._lock = threading.Lock()

    # -- writer (the ingest thread) ------------------------------------------------------------
    def apply(self, batch: TenantBatch) -> list[dict]:
        """Fold a tenant's batch in; returns the health records it changed."""
        with self._lock:
            if batch.kpi is not None:
                window = self._windows.get(batch.tenant)
                if window is None:
                    window = self._windows[batch.tenant] = KpiWindow(self.window_seconds)
                window.add_summary(batch.kpi)
            self._points.setdefault(batch.tenant, deque(maxlen=self.points_kept)).extend(batch.points)
            if batch.readings:
                self._readings.setdefault(batch.tenant, {}).update(batch.readings)
        return self.health_store.apply(batch.tenant, batch.health)

    def compute_kpis(self) -> dict[str, dict]:
        """Recompute every tenant's KPIs (evicting what left the window) and cache them for readers."""
        with self._lock:
            self._kpis = {tenant: window.compute() for tenant, window in self._windows.items()}
            return dict(self._kpis)

    # -- readers (web threads) -----------------------------------------------------------------
    def tenants(self) -> list[str]:
        with self._lock:
            return list(self._windows)

    def kpis(self, tenant: str) -> dict:
        with self._lock:
            return self._kpis.get(tenant) or empty_kpis(self.window_seconds)

    def points(self, tenant: str, limit: int = 50) -> list[dict]:
        with self._lock:
            recent = list(self._points.get(tenant, ()))[-limit:]
        return [json.loads(p) for p in recent]

    def health(self, tenant: str) -> list[dict]:
        return self.health_store.snapshot(tenant)

    def readings(self, tenant: str) -> list[dict]:
        """The latest reading of every sensor, by asset and sensor."""
        with self._lock:
            encoded = list(self._readings.get(tenant, {}).values())
        return sorted_readings(encoded)


def sorted_readings(encoded: list) -> list[dict]:
    return sorted((json.loads(r) for r in encoded), key=lambda r: (r["asset_id"], r["sensor_id"]))
