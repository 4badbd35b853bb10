"""Cluster-wide stats for the system channel: every process reports, the leader adds them up.

Each worker and each web process writes its own counters once a second into a Redis hash
(`stats:workers`, `stats:web`; field = process name, value = JSON with a timestamp). The leader
combines the fresh ones with the stream's backlog into one `system_update`, publishes it and keeps
a copy in `system` for snapshots. A process silent for REPORT_STALE_SECONDS no longer counts (and
its field is removed), so a killed worker disappears from the totals by itself.
"""
from __future__ import annotations

import json
import os
import socket
import time
from collections import Counter

import redis

from services.background import BackgroundThread
from services.redis_keys import RedisKeys

REPORT_STALE_SECONDS = 10.0
SYSTEM_CACHE_SECONDS = 10
SUMMED = ("processed", "batches", "batch_errors", "alerts", "dead_lettered", "reclaimed", "stale_commits",
          "redis_errors", "connections", "connections_opened_total", "frames_sent", "points_coalesced", "resyncs",
          "model_fit_errors", "messages_merged", "frames_encoded", "frames_shared")
AVERAGED = ("avg_score_ms", "avg_score_ms_per_event", "last_score_ms_per_event")   # mean over workers that scored


def report(client: redis.Redis, keys: RedisKeys, role: str, name: str, stats: dict) -> None:
    client.hset(keys.stats(role), name, json.dumps({**stats, "reported_at": time.time()}))


def _fresh(client: redis.Redis, keys: RedisKeys, role: str) -> dict[str, dict]:
    now, fresh, stale = time.time(), {}, []
    for name, raw in client.hgetall(keys.stats(role)).items():
        record = json.loads(raw)
        if now - record.get("reported_at", 0) > REPORT_STALE_SECONDS:
            stale.append(name)
        else:
            fresh[name.decode()] = record
    if stale:
        client.hdel(keys.stats(role), *stale)
    return fresh


def compose(client: redis.Redis, keys: RedisKeys, backlog: dict, model_version: int, hub: dict) -> dict:
    """One system-stats dict for the whole cluster (same field names as embedded mode, plus per-process detail)."""
    workers, web = _fresh(client, keys, "workers"), _fresh(client, keys, "web")
    stats: dict = {k: 0 for k in SUMMED}
    rejected: Counter = Counter()
    refused: Counter = Counter()
    by_channel: Counter = Counter()
    for record in [*workers.values(), *web.values()]:
        for k in SUMMED:
            stats[k] += record.get(k, 0) or 0
        rejected.update(record.get("rejected", {}))
        refused.update(record.get("rejected_requests", {}))
        by_channel.update(record.get("connections_by_channel", {}))
    scoring = [w for w in workers.values() if w.get("batches")]
    stats.update(
        rejected=dict(rejected), rejected_total=sum(rejected.values()), connections_by_channel=dict(by_channel),
        last_batch_size=max((w.get("last_batch_size", 0) for w in workers.values()), default=0),
        last_score_ms=max((w.get("last_score_ms", 0) for w in workers.values()), default=0),
        uptime_s=max((w.get("uptime_s", 0) for w in workers.values()), default=0),
        queue_depth=backlog["lag"] + backlog["pending"], accepted=backlog.get("entries_added", 0),
        stream=backlog, model_version=model_version, hub=hub,
        workers={name: {"processed": w.get("processed", 0), "last_score_ms": w.get("last_score_ms", 0),
                        "leader": w.get("leader", False)} for name, w in sorted(workers.items())},
        web={name: {"connections": w.get("connections", 0)} for name, w in sorted(web.items())},
        rejected_requests=dict(refused), mode="distributed", processes=processes(workers, web),
        **{k: round(sum(w.get(k, 0) for w in scoring) / len(scoring), 4) if scoring else 0.0 for k in AVERAGED},
    )
    by_pid = {p["pid"]: p for p in stats["processes"].values() if "pid" in p}   # app.py runs web + worker in one
    stats.update(memory_rss_bytes=sum(p["rss_bytes"] for p in by_pid.values()),
                 cpu_percent=round(sum(p["cpu_percent"] for p in by_pid.values()), 1))
    return stats


def processes(workers: dict, web: dict) -> dict:
    """Per process: role, memory and CPU, plus its sockets (web) or its scoring (workers)."""
    out = {}
    for name, w in sorted(web.items()):
        out[name] = {"role": "web", **w.get("process", {}), "connections": w.get("connections", 0),
                     "connections_by_channel": w.get("connections_by_channel", {})}
    for name, w in sorted(workers.items()):
        out[name] = {"role": "worker", **w.get("process", {}), "processed": w.get("processed", 0),
                     "leader": w.get("leader", False), "avg_score_ms": w.get("avg_score_ms", 0)}
    return out


def process_name(role: str) -> str:
    """How a process names itself in stats and logs: role, host and pid."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


class Reporter(BackgroundThread):
    """Reports one process's stats every `interval` seconds (web processes; workers report between batches)."""

    thread_name = "stats-reporter"

    def __init__(self, client: redis.Redis, keys: RedisKeys, role: str, name: str, collect, interval: float = 1.0):
        self.client, self.keys, self.role, self.name, self.collect = client, keys, role, name, collect
        self.interval = interval
        self._init_thread()

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        try:
            self.client.hdel(self.keys.stats(self.role), self.name)
        except redis.RedisError:
            pass

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                report(self.client, self.keys, self.role, self.name, self.collect())
            except redis.RedisError:
                pass    # the hub's status already tells clients that Redis is away
