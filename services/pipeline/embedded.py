"""The embedded ingest thread: micro-batch -> validate -> score -> alerts -> state -> publish.

One thread owns the pipeline's writes, so the hot path takes no lock beyond the state's short
one; web threads read the state (services.pipeline.live_state) and the alert store. A batch that fails for
any reason is logged and counted and the thread carries on: the pipeline never dies on bad data.
Distributed mode runs the same steps in services.runtime.worker, reading from a Redis Stream instead.
"""
from __future__ import annotations

import logging

from services.storage.alerts import AlertStore
from services.background import BackgroundThread
from services.pipeline.apply import Cadence, batch_done, publish_applied, publish_kpis
from services.pipeline.batch import BatchProcessor, PipelineStats, validate_all
from services.realtime.hub import Hub
from services.history.writer import HistoryWriter
from services.ingest.queue import IngestQueue
from services.pipeline.live_state import MemoryLiveState
from services.scoring.models import ModelBank
from services.pipeline.publisher import Publisher
from services.config import Config

log = logging.getLogger(__name__)


class Pipeline(BackgroundThread):
    thread_name = "ingest"

    def __init__(self, queue: IngestQueue, models: ModelBank, hub: Hub, alerts: AlertStore,
                 state: MemoryLiveState | None = None, batch_max_events: int = Config.batch_max_events,
                 batch_max_wait: float = Config.batch_max_wait,
                 kpi_window_seconds: float = Config.kpi_window_seconds, max_points_per_batch: int = Config.ws_max_points_per_frame,
                 history: HistoryWriter | None = None):
        self.queue = queue
        self.models = models
        self.alerts = alerts
        self.state = state or MemoryLiveState(kpi_window_seconds)
        self.processor = BatchProcessor(models, max_points_per_batch)
        self.publisher = Publisher(hub)
        self.batch_max_events = batch_max_events
        self.batch_max_wait = batch_max_wait
        self.stats = PipelineStats(log)
        self.publish_periodic = Cadence(lambda: publish_kpis(self.publisher, self.state), self._publish_slow)
        self.extra_stats = None     # callable returning more stats for the system channel
        self.history = history      # scored batches are handed to it (written off this thread)
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
            publish_applied(self.publisher, self.stats, tenant_batch, stored, self.state.apply(tenant_batch))
            if self.history is not None:
                self.history.record(tenant_batch.tenant, tenant_batch.events, tenant_batch.scores)
        batch_done(self.stats, len(raw_events), batches, self.processor.last_score_ms)

    def _publish_slow(self) -> None:
        self.publisher.flush()
        self.publisher.system(self.state.tenants(), self.system_stats())

    def system_stats(self) -> dict:
        stats = self.stats.as_dict()
        stats.update(queue_depth=len(self.queue), accepted=self.queue.accepted,
                     model_version=self.models.models.version if self.models.models else 0,
                     model_fit_errors=self.models.fit_errors)
        if self.history is not None:
            stats["history"] = self.history.stats()
        if self.extra_stats is not None:
            stats.update(self.extra_stats())
        return stats
