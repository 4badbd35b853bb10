"""From one micro-batch of checked events to everything it changes, computed once and applied anywhere.

`BatchProcessor.process` scores the events and reduces them, per tenant, to a `TenantBatch`: the
KPI summary, one health delta per entity, the alerts to raise and the newest points as encoded
messages. It does no I/O, so the embedded pipeline (which applies a batch to in-process state)
and the Redis worker (which applies it to Redis atomically with the stream acknowledgement) share
it, and a worker that finds part of a batch already handled elsewhere can rebuild the summary of
the rest with `TenantBatch.subset` without scoring anything twice.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Callable
from dataclasses import dataclass, field

import numpy as np

from services.config import Config
from services.history.rows import received_time
from services.history.store import iso
from services.realtime import protocol
from services.realtime.selection import retail_scope, sensor_scope
from services.scoring.explain import explain, explain_sensor
from services.storage.alerts import ALERT_LEVELS
from services.ingest.events import EventError, validate_event
from services.scoring.health import HealthDelta, deltas
from services.scoring.kpis import summarize
from services.scoring.models import RISK_THRESHOLDS, ModelBank, Scores, risk_levels
from services.scoring.sensor_banks import SensorBanks

WARMUP_EVENTS = 1000
SCORE_EWMA = 0.1


@dataclass
class TenantBatch:
    tenant: str
    events: list[dict]
    scores: Scores
    kpi: tuple | None                 # services.scoring.kpis.summarize() of the batch (retail events only)
    health: dict[str, HealthDelta]    # entity -> delta
    alerts: list[dict]                # alerts to store (no ids yet)
    points: list[str]                 # encoded iot_update messages, oldest first, at most max_points
    max_points: int
    kind: str = "retail"
    readings: list[tuple[str, str]] = field(default_factory=list)   # sensor id -> encoded sensor_update
    point_scopes: list[str] = field(default_factory=list)            # each point's entity (selection scope)
    reading_scopes: dict[str, str] = field(default_factory=dict)     # sensor id -> its scope

    def subset(self, keep: list[int]) -> "TenantBatch":
        """The same batch restricted to the events at positions `keep` (scores are reused)."""
        build = build_sensor_batch if self.kind == "sensor" else build_tenant_batch
        return build(self.tenant, [self.events[i] for i in keep], self.scores.take(keep), self.max_points)


def build_sensor_batch(tenant: str, events: list[dict], scores: Scores, max_points: int) -> TenantBatch:
    """A batch of one sensor type's readings: health per asset, the latest reading per sensor, alerts."""
    health = deltas([f"asset:{e['asset_id']}" for e in events], [{"asset_id": e["asset_id"]} for e in events],
                    scores.risk_score, scores.anomaly, [e["timestamp"] for e in events])
    latest: dict[str, str] = {}
    alerts = []
    now = time.time()
    for i, e in enumerate(events):
        analysis = _analysis(scores, i)
        latest[e["sensor_id"]] = protocol.encode(protocol.sensor_update(e, analysis, received_iso(e, now)))
        if scores.risk_level[i] in ALERT_LEVELS:
            message, why = explain_sensor(e, float(scores.sales_z[i]), float(scores.expected_sales[i]),
                                          float(scores.anomaly_score[i]))
            alerts.append({"event_id": e["event_id"], "profile": "sensor", "priority": scores.risk_level[i],
                           "timestamp": e["timestamp"], "asset_id": e["asset_id"], "sensor_id": e["sensor_id"],
                           "sensor_type": e["sensor_type"], "risk_score": int(scores.risk_score[i]),
                           "message": message, "why": why})
    scopes = {e["sensor_id"]: sensor_scope(e["asset_id"], e["sensor_id"]) for e in events}
    return TenantBatch(tenant, events, scores, None, health, alerts, [], max_points, "sensor", list(latest.items()),
                       reading_scopes=scopes)


def _analysis(scores: Scores, i: int) -> dict:
    return {"anomaly_detected": bool(scores.anomaly[i]), "anomaly_score": float(scores.anomaly_score[i]),
            "risk_level": scores.risk_level[i], "risk_score": int(scores.risk_score[i]),
            "cluster": scores.cluster[i], "model_version": scores.model_version}


def build_tenant_batch(tenant: str, events: list[dict], scores: Scores, max_points: int) -> TenantBatch:
    n = len(events)
    sales = np.fromiter((e["weekly_sales"] for e in events), float, n)
    holiday = np.fromiter((e["is_holiday"] for e in events), float, n)
    health = deltas([(e["store"], e["dept"]) for e in events], _Identities(events), scores.risk_score,
                    scores.anomaly, [e["timestamp"] for e in events], name=lambda key: f"{key[0]}/{key[1]}")
    first = max(0, n - max_points)
    return TenantBatch(tenant, events, scores, summarize(sales, holiday, scores.anomaly) if n else None,
                       health, pending_alerts(events, scores), encoded_points(events, scores, max_points),
                       max_points, point_scopes=[retail_scope(e["store"], e["dept"]) for e in events[first:]])


class _Identities:
    """identities[i] for retail events, built only for the positions asked for (one per entity)."""

    def __init__(self, events: list[dict]):
        self.events = events

    def __getitem__(self, i) -> dict:
        e = self.events[int(i)]
        return {"store": e["store"], "dept": e["dept"]}


def pending_alerts(events: list[dict], scores: Scores) -> list[dict]:
    """An alert for every HIGH or CRITICAL event, with the human explanation."""
    out = []
    for i, level in enumerate(scores.risk_level):
        if level not in ALERT_LEVELS:
            continue
        e = events[i]
        message, why = explain(e, float(scores.sales_z[i]), float(scores.expected_sales[i]),
                               float(scores.temp_z[i]), float(scores.anomaly_score[i]))
        out.append({"event_id": e["event_id"], "profile": "retail", "priority": level, "timestamp": e["timestamp"],
                    "store": e["store"], "dept": e["dept"], "risk_score": int(scores.risk_score[i]),
                    "message": message, "why": why})
    return out


def encoded_points(events: list[dict], scores: Scores, max_points: int) -> list[str]:
    """Only the newest points can reach a client (a frame carries at most max_points), so only they are encoded."""
    out = []
    now = time.time()
    for i in range(max(0, len(events) - max_points), len(events)):
        out.append(protocol.encode(protocol.iot_update(events[i], _analysis(scores, i), received_iso(events[i], now))))
    return out


def received_iso(event: dict, now: float) -> str:
    """When the event was admitted (services.history.rows.received_time), in the messages' form."""
    return iso(received_time(event, now))


class BatchProcessor:
    """Routes each event to its model: retail events to `models`, sensor readings to their type's bank."""

    def __init__(self, models: ModelBank, max_points: int = Config.ws_max_points_per_frame, sensors: SensorBanks | None = None,
                 thresholds: Callable[[str], tuple] | None = None):
        self.models = models
        self.max_points = max_points
        self.sensors = sensors or SensorBanks(lambda name: ModelBank(kind="sensor", name=f"sensor:{name}"))
        self.thresholds = thresholds    # tenant -> its (MEDIUM, HIGH, CRITICAL) risk thresholds, set by its admin
        self.last_score_ms = 0.0

    def _levelled(self, tenant: str, scores: Scores) -> Scores:
        """Re-level the risk scores with the tenant's own thresholds when they differ from the defaults."""
        cuts = self.thresholds(tenant) if self.thresholds is not None else RISK_THRESHOLDS
        if tuple(cuts) != RISK_THRESHOLDS:
            scores.risk_level = risk_levels(scores.risk_score, cuts)
        return scores

    def process(self, events: list[dict]) -> list[TenantBatch]:
        """Score checked events (services.ingest.events.validate_event output); one TenantBatch per tenant and model."""
        groups: dict[tuple, list[dict]] = {}
        now = round(time.time(), 3)              # milliseconds: what messages and history rows both keep
        for event in events:
            event["_received"] = received_time(event, now)
            model = event["sensor_type"] if event["profile"] == "sensor" else None
            groups.setdefault((event["tenant"], model), []).append(event)
        out = []
        started = time.perf_counter()
        for (tenant, sensor_type), group in groups.items():
            if sensor_type is None:
                scores = self._levelled(tenant, self.models.score(group))
                out.append(build_tenant_batch(tenant, group, scores, self.max_points))
            else:
                scores = self._levelled(tenant, self.sensors.bank(sensor_type).score(group))
                out.append(build_sensor_batch(tenant, group, scores, self.max_points))
        self.last_score_ms = (time.perf_counter() - started) * 1000
        return out

    def warm_up(self, events: list[dict]) -> None:
        """Learn from history before the live stream starts: each model from its own events."""
        retail = [e for e in events if e["profile"] == "retail"]
        if retail:
            self.models.warm_up(retail)
        by_type: dict[str, list[dict]] = {}
        for e in events:
            if e["profile"] == "sensor":
                by_type.setdefault(e["sensor_type"], []).append(e)
        for sensor_type, group in by_type.items():
            self.sensors.bank(sensor_type).warm_up(group)

    def warm_up_from(self, simulator, count: int = WARMUP_EVENTS) -> None:
        """Warm up on `count` events of a simulator's history: the stored history a real deployment
        would load, so scoring is meaningful from the first live event."""
        self.warm_up(validate_all(simulator.history(count), PipelineStats()))

    def start(self) -> None:
        self.models.start()
        self.sensors.start()

    def stop(self) -> None:
        self.sensors.stop()
        self.models.stop()


def validate_all(raw_events: list, stats: "PipelineStats") -> list[dict]:
    """Checked events; each rejection is counted by reason (and logged, rate-limited, by `stats`)."""
    checked = []
    for raw in raw_events:
        try:
            checked.append(validate_event(raw))
        except EventError as exc:
            stats.reject(exc)
    return checked


def _ewma(average: float, value: float, first: bool) -> float:
    return value if first else average + SCORE_EWMA * (value - average)


class PipelineStats:
    """Counters for the system channel; one instance per pipeline or worker."""

    def __init__(self, log=None):
        self.processed = 0
        self.batches = 0
        self.rejected: Counter = Counter()
        self.batch_errors = 0
        self.alerts = 0
        self.last_batch_size = 0
        self.last_score_ms = 0.0
        self.last_scored_events = 0
        self.avg_score_ms = self.avg_score_ms_per_event = 0.0   # exponentially weighted, ~ the last 10 batches
        self.started = time.time()
        self._log = log
        self._last_reject_log, self._rejects_unlogged = 0.0, 0
        self._reject_lock = threading.Lock()

    def count_rejected(self, label: str) -> None:
        """One more rejection for `label`. Locked: a worker's consumer thread and its ingest bridge
        thread both count, and `Counter[...] += 1` is a read then a write."""
        with self._reject_lock:
            self.rejected[label] += 1

    def reject(self, exc: EventError) -> None:
        """Count a rejection by reason; log it at most once a second so bad producers cannot flood logs."""
        self.count_rejected(f"{exc.field}: {exc.reason}")
        now = time.monotonic()
        if self._log is None:
            return
        if now - self._last_reject_log >= 1.0:
            extra = f" (+{self._rejects_unlogged} more since last report)" if self._rejects_unlogged else ""
            self._log.warning("rejected event: %s%s", exc, extra)
            self._last_reject_log, self._rejects_unlogged = now, 0
        else:
            self._rejects_unlogged += 1

    def scored(self, batch_size: int, events: int, score_ms: float) -> None:
        """Note a batch's size and model time. The averages weigh recent batches most (the System
        page wants "how slow is scoring now", not since start); the first batch seeds them."""
        self.avg_score_ms = _ewma(self.avg_score_ms, score_ms, self.last_batch_size == 0)
        if events:
            self.avg_score_ms_per_event = _ewma(self.avg_score_ms_per_event, score_ms / events,
                                                self.last_scored_events == 0)
            self.last_scored_events = events
        self.last_batch_size, self.last_score_ms = batch_size, score_ms

    def as_dict(self) -> dict:
        per_event = self.last_score_ms / self.last_scored_events if self.last_scored_events else 0.0
        return {"avg_score_ms": round(self.avg_score_ms, 2), "last_score_ms_per_event": round(per_event, 4),
                "avg_score_ms_per_event": round(self.avg_score_ms_per_event, 4),
                "processed": self.processed, "batches": self.batches, "rejected": dict(self.rejected),
                "rejected_total": sum(self.rejected.values()), "batch_errors": self.batch_errors,
                "alerts": self.alerts, "last_batch_size": self.last_batch_size,
                "last_score_ms": round(self.last_score_ms, 2), "uptime_s": round(time.time() - self.started, 1)}
