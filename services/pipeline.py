"""The ingest thread: micro-batch -> validate -> score -> aggregate -> alert -> publish.

One thread owns all pipeline state (baselines, KPI windows, latest points), so none of it needs a
lock on the hot path; web threads read only the small caches published here (latest KPIs and
points) or stores that lock for themselves (health, alerts). A batch that fails for any reason is
logged and counted and the thread carries on: the pipeline never dies on bad data.
"""
from __future__ import annotations

import logging
import time
from collections import Counter, deque

import numpy as np

from services import protocol
from services.alerts import ALERT_LEVELS, AlertStore, alert_message, explain
from services.background import BackgroundThread
from services.events import EventError, validate_event
from services.health import EntityHealth
from services.hub import Hub, Message, topic
from services.ingest import IngestQueue
from services.kpis import KpiWindow
from services.models import ModelBank

log = logging.getLogger(__name__)

KPI_PUBLISH_SECONDS = 0.25
SLOW_PUBLISH_SECONDS = 1.0
SNAPSHOT_POINTS = 200


class PipelineStats:
    def __init__(self):
        self.processed = 0
        self.batches = 0
        self.rejected: Counter = Counter()
        self.batch_errors = 0
        self.alerts = 0
        self.last_batch_size = 0
        self.last_score_ms = 0.0
        self.started = time.time()

    def as_dict(self) -> dict:
        return {"processed": self.processed, "batches": self.batches, "rejected": dict(self.rejected),
                "rejected_total": sum(self.rejected.values()), "batch_errors": self.batch_errors,
                "alerts": self.alerts, "last_batch_size": self.last_batch_size,
                "last_score_ms": round(self.last_score_ms, 2), "uptime_s": round(time.time() - self.started, 1)}


class Pipeline(BackgroundThread):
    thread_name = "ingest"

    def __init__(self, queue: IngestQueue, models: ModelBank, hub: Hub, alerts: AlertStore,
                 batch_max_events: int = 1000, batch_max_wait: float = 0.05, kpi_window_seconds: float = 300.0,
                 max_points_per_batch: int = 100):
        self.queue = queue
        self.models = models
        self.hub = hub
        self.alerts = alerts
        self.batch_max_events = batch_max_events
        self.batch_max_wait = batch_max_wait
        self.kpi_window_seconds = kpi_window_seconds
        self.max_points_per_batch = max_points_per_batch
        self.health = EntityHealth()
        self.stats = PipelineStats()
        self.kpi_windows: dict[str, KpiWindow] = {}
        self.latest_kpis: dict[str, dict] = {}
        self.latest_points: dict[str, deque] = {}
        self._health_dirty: set = set()
        self._last_kpi = self._last_slow = 0.0
        self._last_reject_log, self._rejects_unlogged = 0.0, 0
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

    # -- one micro-batch -------------------------------------------------------------------
    def process(self, raw_events: list) -> None:
        by_tenant: dict[str, list[dict]] = {}
        for raw in raw_events:
            try:
                event = validate_event(raw)
            except EventError as exc:
                self._reject(exc)
                continue
            by_tenant.setdefault(event["tenant"], []).append(event)
        for tenant, events in by_tenant.items():
            self._process_tenant(tenant, events)
        self.stats.batches += 1
        self.stats.last_batch_size = len(raw_events)

    def _reject(self, exc: EventError) -> None:
        """Count a rejection by reason; log it, at most once a second so bad producers cannot flood logs."""
        self.stats.rejected[f"{exc.field}: {exc.reason}"] += 1
        now = time.monotonic()
        if now - self._last_reject_log >= 1.0:
            extra = f" (+{self._rejects_unlogged} more since last report)" if self._rejects_unlogged else ""
            log.warning("rejected event: %s%s", exc, extra)
            self._last_reject_log, self._rejects_unlogged = now, 0
        else:
            self._rejects_unlogged += 1

    def _process_tenant(self, tenant: str, events: list[dict]) -> None:
        started = time.perf_counter()
        scores = self.models.score(events)
        self.stats.last_score_ms = (time.perf_counter() - started) * 1000
        n = len(events)
        keys = [(tenant, e["store"], e["dept"]) for e in events]
        sales = np.fromiter((e["weekly_sales"] for e in events), float, n)
        holiday = np.fromiter((e["is_holiday"] for e in events), float, n)
        window = self.kpi_windows.get(tenant)
        if window is None:
            window = self.kpi_windows[tenant] = KpiWindow(self.kpi_window_seconds)
        window.add(sales, holiday, scores.anomaly)
        self._health_dirty |= self.health.update(keys, scores.risk_score, scores.anomaly,
                                                 [e["timestamp"] for e in events])
        self._raise_alerts(tenant, events, scores)
        # Only the newest points can reach a client (frames carry at most max_points each).
        start = max(0, n - self.max_points_per_batch)
        points = []
        recent = self.latest_points.setdefault(tenant, deque(maxlen=SNAPSHOT_POINTS))
        for i in range(start, n):
            update = protocol.iot_update(events[i], {
                "anomaly_detected": bool(scores.anomaly[i]), "anomaly_score": float(scores.anomaly_score[i]),
                "risk_level": scores.risk_level[i], "risk_score": int(scores.risk_score[i]),
                "cluster": scores.cluster[i], "model_version": scores.model_version})
            recent.append(update)
            points.append(Message("iot_update", None, protocol.encode(update)))
        self.hub.publish(topic(tenant, "iot"), points)
        self.stats.processed += n

    def _raise_alerts(self, tenant: str, events: list[dict], scores) -> None:
        pending = []
        for i, level in enumerate(scores.risk_level):
            if level not in ALERT_LEVELS:
                continue
            message, why = explain(events[i], float(scores.sales_z[i]), float(scores.expected_sales[i]),
                                   float(scores.temp_z[i]), float(scores.anomaly_score[i]))
            e = events[i]
            pending.append({"event_id": e["event_id"], "priority": level, "timestamp": e["timestamp"],
                            "store": e["store"], "dept": e["dept"], "risk_score": int(scores.risk_score[i]),
                            "message": message, "why": why})
        if not pending:
            return
        stored = self.alerts.save(tenant, pending)       # persisted before anyone is told
        self.stats.alerts += len(stored)
        self.hub.publish(topic(tenant, "alerts"),
                         [Message("alert", None, protocol.encode(alert_message(a))) for a in stored])

    # -- periodic aggregates ---------------------------------------------------------------
    def publish_periodic(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_kpi >= KPI_PUBLISH_SECONDS:
            self._last_kpi = now
            for tenant, window in self.kpi_windows.items():
                kpis = window.compute()
                self.latest_kpis[tenant] = kpis
                self.hub.publish(topic(tenant, "kpis"),
                                 [Message("kpi_update", "kpis", protocol.encode(protocol.kpi_update(kpis)))])
        if force or now - self._last_slow >= SLOW_PUBLISH_SECONDS:
            self._last_slow = now
            self._publish_health()
            self._publish_system()

    def _publish_health(self) -> None:
        dirty, self._health_dirty = self._health_dirty, set()
        by_tenant: dict[str, list] = {}
        for key in dirty:
            by_tenant.setdefault(key[0], []).append(key)
        for tenant, keys in by_tenant.items():
            messages = []
            for record in self.health.records(keys):
                entity = f"{record['store']}/{record['dept']}"
                messages.append(Message("health_update", entity,
                                        protocol.encode(protocol.health_update([record]))))
            self.hub.publish(topic(tenant, "health"), messages)

    def _publish_system(self) -> None:
        stats = self.system_stats()
        message = Message("system_update", "system", protocol.encode(protocol.system_update(stats)))
        for tenant in self.kpi_windows or {"default": None}:
            self.hub.publish(topic(tenant, "system"), [message])

    def system_stats(self) -> dict:
        stats = self.stats.as_dict()
        stats.update(queue_depth=len(self.queue), accepted=self.queue.accepted,
                     model_version=self.models.models.version if self.models.models else 0,
                     model_fit_errors=self.models.fit_errors)
        if self.extra_stats is not None:
            stats.update(self.extra_stats())
        return stats

    def kpis_for(self, tenant: str) -> dict:
        if tenant in self.latest_kpis:
            return self.latest_kpis[tenant]
        return KpiWindow(self.kpi_window_seconds).compute()

    def points_for(self, tenant: str, limit: int = 50) -> list[dict]:
        recent = list(self.latest_points.get(tenant, ()))
        return recent[-limit:]
