"""Operations endpoints: `GET /healthz` (liveness and dependency status) and `GET /metrics` (Prometheus).

`/healthz` needs no login and tells nothing secret: is this process up, can it reach its database
and (distributed mode) Redis. It answers 200 while the process can serve, with `"status":
"degraded"` when Redis is away (pages still work), and 503 only if the database is unusable.

`/metrics` is the Prometheus text format (prometheus-client), collected at scrape time from the
same stats as the system channel, plus the process' memory and CPU. It needs an admin session or
`Authorization: Bearer <METRICS_TOKEN>` (set METRICS_TOKEN for your scraper): counts of events and
connections are not for anonymous eyes. One registry per app, nothing global.
"""
from __future__ import annotations

import hmac
import time

import redis
from flask import Blueprint, Response, current_app, jsonify, request
from flask_login import current_user
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from services.web.runtime_access import get_runtime

bp = Blueprint("monitoring", __name__)


@bp.get("/healthz")
def healthz():
    runtime = get_runtime()
    checks: dict = {}
    try:
        runtime.db.check()            # reads the users table: `SELECT 1` passes on a damaged file
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unavailable"
    checks.update(runtime.backend.health_checks())
    ok = checks["database"] == "ok"
    status = "ok" if all(v == "ok" for v in checks.values()) else ("degraded" if ok else "failing")
    return jsonify(status=status, mode=runtime.backend.mode, checks=checks,
                   time=time.time()), 200 if ok else 503


@bp.get("/metrics")
def metrics():
    token = get_runtime().config.metrics_token
    bearer = request.headers.get("Authorization", "")
    allowed = (token and hmac.compare_digest(bearer, f"Bearer {token}")) or \
        (current_user.is_authenticated and current_user.is_admin)
    if not allowed:
        return jsonify(error="metrics need an admin session or Authorization: Bearer <METRICS_TOKEN>"), 403
    registry = current_app.extensions.get("metrics_registry")
    if registry is None:
        registry = current_app.extensions["metrics_registry"] = CollectorRegistry()
        registry.register(StatsCollector(get_runtime()))
        ProcessCollector(registry=registry)
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4; charset=utf-8")


class StatsCollector:
    """Turns the system-channel stats into Prometheus metrics on each scrape."""

    def __init__(self, runtime):
        self.runtime = runtime

    def collect(self):
        try:
            stats = self.runtime.system_stats()
        except redis.RedisError:
            stats = {}
        for name, key, help_text in (
                ("pulse_events_processed", "processed", "Events scored and counted"),
                ("pulse_batches", "batches", "Micro-batches processed"),
                ("pulse_alerts", "alerts", "Alerts raised"),
                ("pulse_batch_errors", "batch_errors", "Micro-batches that failed (and were retried)"),
                ("pulse_ws_frames_sent", "frames_sent", "WebSocket frames sent"),
                ("pulse_ws_points_coalesced", "points_coalesced", "Points merged away by per-client coalescing"),
                ("pulse_ws_messages_merged", "messages_merged", "Keyed updates replaced by a newer one before sending"),
                ("pulse_ws_resyncs", "resyncs", "Snapshots sent to clients that fell behind"),
                ("pulse_ws_frames_encoded", "frames_encoded", "Batch frames encoded (each serves every socket taking it)"),
                ("pulse_ws_frames_shared", "frames_shared", "Batch frames another socket took already encoded"),
                ("pulse_dead_lettered", "dead_lettered", "Events sent to the dead-letter stream"),
                ("pulse_reclaimed", "reclaimed", "Events taken over from a stalled or dead worker")):
            yield CounterMetricFamily(name, help_text, value=float(stats.get(key) or 0))
        rejected = CounterMetricFamily("pulse_events_rejected", "Events rejected, by reason", labels=["reason"])
        for reason, count in (stats.get("rejected") or {}).items():
            rejected.add_metric([reason], float(count))
        yield rejected
        refused = CounterMetricFamily("pulse_requests_rejected", "Ingest requests refused before their events "
                                      "were counted, by reason", labels=["reason"])
        for reason, count in (stats.get("rejected_requests") or {}).items():
            refused.add_metric([reason], float(count))
        yield refused
        connections = GaugeMetricFamily("pulse_ws_connections", "Open WebSocket connections per channel",
                                        labels=["channel"])
        for channel, count in (stats.get("connections_by_channel") or {}).items():
            connections.add_metric([channel], float(count))
        yield connections
        for name, key, help_text in (("pulse_queue_depth", "queue_depth", "Events waiting to be processed"),
                                     ("pulse_score_ms", "last_score_ms", "Scoring time of the last batch, ms"),
                                     ("pulse_model_version", "model_version", "Version of the retail model"),
                                     ("pulse_score_ms_avg", "avg_score_ms", "Scoring time per batch, recent average, ms"),
                                     ("pulse_score_ms_per_event_avg", "avg_score_ms_per_event",
                                      "Scoring time per event, recent average, ms"),
                                     ("pulse_events_in_per_second", "events_in_per_s", "Events accepted per second"),
                                     ("pulse_events_out_per_second", "events_out_per_s", "Events processed per second"),
                                     ("pulse_ingest_lag_seconds", "ingest_lag_s",
                                      "Age of the oldest event not yet processed, seconds"),
                                     ("pulse_cluster_memory_rss_bytes", "memory_rss_bytes",
                                      "Resident memory of every Pulseboard process (distributed: all of them)")):
            yield GaugeMetricFamily(name, help_text, value=float(stats.get(key) or 0))
        hub = stats.get("hub") or self.runtime.hub.status()
        yield GaugeMetricFamily("pulse_hub_connected", "1 if the hub (Redis in distributed mode) is connected",
                                value=1.0 if hub.get("connected") else 0.0)
        stream = stats.get("stream") or {}
        for key in ("lag", "pending", "dead_letters", "stream_length"):
            if key in stream:
                yield GaugeMetricFamily(f"pulse_stream_{key}", f"Redis stream: {key.replace('_', ' ')}",
                                        value=float(stream[key]))
