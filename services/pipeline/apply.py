"""What both drivers do with a scored micro-batch, and the cadence they keep between batches.

The embedded pipeline (services.pipeline.embedded) and the Redis stream worker
(services.pipeline.stream_worker) differ only in where events come from and how state is
committed (process memory vs. one atomic Redis script). Once a batch's alerts are stored and its
state applied, the rest is the same and lives here, so both publish the same messages and count
the same figures: `publish_applied` per tenant batch, `batch_done` per micro-batch, and `Cadence`
for the periodic work (KPIs 4 times a second, health, digests and system stats once a second).
"""
from __future__ import annotations

import time
from typing import Callable

from services.pipeline.batch import PipelineStats, TenantBatch
from services.pipeline.publisher import Publisher

KPI_SECONDS = 0.25      # KPI cards: fresh enough to feel live, cheap enough to compute per tenant
SLOW_SECONDS = 1.0      # health, alert digests, system stats, leader duties


def publish_applied(publisher: Publisher, stats: PipelineStats, batch: TenantBatch, alerts: list[dict],
                    health: list[dict]) -> None:
    """Publish one tenant batch whose alerts are stored (they carry ids) and whose state is applied
    (`health`: the entities it changed), and count it."""
    publisher.points(batch.tenant, batch.points, batch.point_scopes)
    publisher.readings(batch.tenant, batch.readings, batch.reading_scopes)
    publisher.alerts(batch.tenant, alerts)
    publisher.note_health(batch.tenant, health)
    stats.alerts += len(alerts)
    stats.processed += len(batch.events)


def batch_done(stats: PipelineStats, received: int, batches: list[TenantBatch], score_ms: float) -> None:
    """One micro-batch of `received` events is finished (some may have been rejected or dead-lettered)."""
    stats.batches += 1
    stats.scored(received, sum(len(b.events) for b in batches), score_ms)


def publish_kpis(publisher: Publisher, state) -> None:
    """Every tenant's KPIs, from the live state (memory or Redis: both have `compute_kpis`)."""
    for tenant, kpis in state.compute_kpis().items():
        publisher.kpis(tenant, kpis)


class Cadence:
    """The periodic loop, called between batches by the driver's own thread: `on_kpis` every
    KPI_SECONDS, `on_slow` every SLOW_SECONDS (`force` runs both now, e.g. at a test's end)."""

    def __init__(self, on_kpis: Callable[[], None], on_slow: Callable[[], None]):
        self.on_kpis, self.on_slow = on_kpis, on_slow
        self._last_kpi = self._last_slow = 0.0

    def __call__(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_kpi >= KPI_SECONDS:
            self._last_kpi = now
            self.on_kpis()
        if force or now - self._last_slow >= SLOW_SECONDS:
            self._last_slow = now
            self.on_slow()
