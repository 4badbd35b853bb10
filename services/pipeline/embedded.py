"""The embedded ingest thread: micro-batch -> validate -> score -> alerts -> state -> publish.

One thread owns the pipeline's writes, so the hot path takes no lock beyond the state's short
one; web threads read the state (services.pipeline.live_state) and the alert store. A batch that fails for
any reason is logged and counted and the thread carries on: the pipeline never dies on bad data.
Distributed mode runs the same steps in services.runtime.worker, reading from a Redis Stream instead.
"""
from __future__ import annotations

import logging
import time

from services.storage.alerts import AlertStore
from services.background import BackgroundThread
from services.pipeline.batch import BatchProcessor, PipelineStats, validate_all
from services.realtime.hub import Hub
from services.ingest.queue import IngestQueue
from services.pipeline.live_state import MemoryLiveState
from services.scoring.models import ModelBank
from services.pipeline.publisher import Publisher

log = logging.getLogger(__name__)

KPI_PUBLISH_SECONDS = 0.25
SLOW_PUBLISH_SECONDS = 1.0


class Pipeline(BackgroundThread):
    thread_name = "ingest"

    def __init__(self, queue: IngestQueue, models: ModelBank, hub: Hub, alerts: AlertStore,
                 state: MemoryLiveState | None = None, batch_max_events: int = 1000, batch_max_wait: float = 0.05,
                 kpi_window_seconds: float = 300.0, max_points_per_batch: int = 50):
        self.queue = queue
        self.models = models
        self.alerts = alerts
        self.state = state or MemoryLiveState(kpi_window_seconds)
        self.processor = BatchProcessor(models, max_points_per_batch)
        self.publisher = Publisher(hub)
        self.batch_max_events = batch_max_events
        self.batch_max_wait = batch_max_wait
        self.stats = PipelineStats(log)
        self._last_kpi = self._last_slow = 0.0
        self.extra_stats = None     # callable returning more stats for the system channel
        self._init_thread()

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self.queue.next_batch(self.batch_max_events, self.batch_max_wait, self._stop)
            try:
                if batch:
                    self.process(batch)
                self.publish_periodic()
            except Exception:
                self.stats.batch_errors += 1
                log.exception("ingest batch of %d events failed; continuing", len(batch))

    def process(self, raw_events: list) -> None:
        batches = self.processor.process(validate_all(raw_events, self.stats))
        for tenant_batch in batches:
            stored = self.alerts.save(tenant_batch.tenant, tenant_batch.alerts)   # persisted before anyone is told
            health = self.state.apply(tenant_batch)
            self.publisher.points(tenant_batch.tenant, tenant_batch.points)
            self.publisher.readings(tenant_batch.tenant, tenant_batch.readings)
            self.publisher.alerts(tenant_batch.tenant, stored)
            self.publisher.note_health(tenant_batch.tenant, health)
            self.stats.alerts += len(stored)
            self.stats.processed += len(tenant_batch.events)
        self.stats.batches += 1
        self.stats.scored(len(raw_events), sum(len(b.events) for b in batches), self.processor.last_score_ms)

    def publish_periodic(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_kpi >= KPI_PUBLISH_SECONDS:
            self._last_kpi = now
            for tenant, kpis in self.state.compute_kpis().items():
                self.publisher.kpis(tenant, kpis)
        if force or now - self._last_slow >= SLOW_PUBLISH_SECONDS:
            self._last_slow = now
            self.publisher.flush()
            self.publisher.system(self.state.tenants(), self.system_stats())

    def system_stats(self) -> dict:
        stats = self.stats.as_dict()
        stats.update(queue_depth=len(self.queue), accepted=self.queue.accepted,
                     model_version=self.models.models.version if self.models.models else 0,
                     model_fit_errors=self.models.fit_errors)
        if self.extra_stats is not None:
            stats.update(self.extra_stats())
        return stats
