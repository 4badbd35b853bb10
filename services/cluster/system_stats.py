"""The figures of the System page that no pipeline counter already holds, computed the same way in
both modes so `system_update` has one shape (docs/PROTOCOL.md lists every field and its unit).

- `RejectCounter`: events refused at the door (POST /api/v1/iot: schema errors by field, duplicates,
  rate limit, full queue or backlog) are counted where they are refused, per process; the
  pipeline's and workers' own rejections stay in `PipelineStats.rejected`; the two are added up.
- `RateMeter`: events/s in and out from two monotonically growing counters, over a sliding window,
  so a reader that asks more often than once a second (snapshots, /metrics) does not skew it.
- `ProcessSampler`: this process' resident memory and CPU (psutil), cached for half a second.
- `DiskcacheStats` / `celery_stats`: what the Dash background-callback cache holds (diskcache in
  DATA_DIR, or the Celery broker's queue in Redis).
- `redis_status` and `stream_lag`: the leader worker's view of Redis (distributed mode).
- `EmbeddedStats`: the extra figures of one embedded process, the pipeline's `extra_stats` hook.

Nothing here starts a thread or touches Dash; each object belongs to one Runtime or WorkerNode.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter, deque
from pathlib import Path

import psutil
import redis

CELERY_QUEUE = "celery"          # Celery's default queue: a Redis list of that name on the broker
RATE_WINDOW_SECONDS = 5.0


class RejectCounter:
    """Events (and whole requests) refused before they reached the queue, by reason. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._events: Counter = Counter()
        self._requests: Counter = Counter()

    def events(self, reason: str, count: int = 1) -> None:
        if count > 0:
            with self._lock:
                self._events[reason] += count

    def request(self, reason: str) -> None:
        """A request refused before its events could be counted (bad key, not JSON, too large)."""
        with self._lock:
            self._requests[reason] += 1

    def as_dict(self) -> dict:
        with self._lock:
            return {"rejected": dict(self._events), "rejected_requests": dict(self._requests)}


def merge_rejected(*sources: dict) -> dict:
    """Rejected-by-reason dicts added up, with `rejected_total` to match."""
    total: Counter = Counter()
    for source in sources:
        total.update(source or {})
    return {"rejected": dict(total), "rejected_total": sum(total.values())}


class RateMeter:
    """Per-second rates of counters, over the last `window` seconds of samples."""

    def __init__(self, window: float = RATE_WINDOW_SECONDS, clock=time.monotonic):
        self.window = window
        self.clock = clock
        self._samples: deque = deque()
        self._lock = threading.Lock()

    def update(self, **counters: float) -> dict[str, float]:
        """Record the counters now; returns `<name>_per_s` for each (0 until there are two samples)."""
        now = self.clock()
        with self._lock:
            self._samples.append((now, counters))
            while len(self._samples) > 2 and now - self._samples[1][0] >= self.window:
                self._samples.popleft()
            then, old = self._samples[0]
        elapsed = now - then
        return {f"{name}_per_s": round(max(0.0, value - old.get(name, value)) / elapsed, 1) if elapsed > 0 else 0.0
                for name, value in counters.items()}


class ProcessSampler:
    """Memory and CPU of this process. CPU % is over the time since the previous sample (100 = one core)."""

    def __init__(self, min_interval: float = 0.5):
        self._process = psutil.Process(os.getpid())
        self._process.cpu_percent(None)           # the first call only sets the baseline
        self._lock = threading.Lock()
        self._min_interval = min_interval
        self._last: tuple[float, dict] = (0.0, {})

    def sample(self) -> dict:
        with self._lock:
            at, cached = self._last
            if time.monotonic() - at < self._min_interval and cached:
                return cached
            with self._process.oneshot():
                sample = {"pid": self._process.pid, "rss_bytes": self._process.memory_info().rss,
                          "cpu_percent": round(self._process.cpu_percent(None), 1),
                          "threads": self._process.num_threads()}
            self._last = (time.monotonic(), sample)
            return sample


class DiskcacheStats:
    """Entries and bytes of the DiskcacheManager's cache in DATA_DIR/callback-cache (opened once,
    on first use, by this process: diskcache is safe to share between processes)."""

    def __init__(self, path: Path):
        self.path = path
        self._cache = None

    def collect(self) -> dict:
        out = {"kind": "diskcache", "location": "DATA_DIR/callback-cache"}
        try:
            if self._cache is None:
                if not self.path.exists():
                    return {**out, "entries": 0, "volume_bytes": 0, "note": "not created yet"}
                import diskcache
                self._cache = diskcache.Cache(str(self.path))
            return {**out, "entries": len(self._cache), "volume_bytes": int(self._cache.volume())}
        except (sqlite3.DatabaseError, OSError) as exc:     # a figure, never a failure of the stats
            self._cache = None
            return {**out, "entries": 0, "volume_bytes": 0, "note": f"unreadable ({exc}); recreated at the next start"}


def celery_stats(client: redis.Redis) -> dict:
    """Celery mode keeps no local cache: results live in Redis (expiring after an hour); what can be
    counted cheaply is the tasks waiting on the broker's default queue."""
    return {"kind": "celery", "queue": CELERY_QUEUE, "queued_tasks": int(client.llen(CELERY_QUEUE)),
            "note": "results are kept in Redis for 1 h; their size is not measured"}


def redis_status(client: redis.Redis) -> dict:
    """Reachable or not, round-trip time, and the server's own memory and client figures."""
    try:
        started = time.perf_counter()
        client.ping()
        ping_ms = round((time.perf_counter() - started) * 1000, 2)
        info = client.info()
    except redis.RedisError as exc:
        return {"status": "unavailable", "error": type(exc).__name__}
    return {"status": "ok", "ping_ms": ping_ms, "version": info.get("redis_version"),
            "used_memory_bytes": int(info.get("used_memory", 0)),
            "connected_clients": int(info.get("connected_clients", 0)),
            "uptime_s": int(info.get("uptime_in_seconds", 0))}


def _id_ms(entry_id) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return int(text.split("-")[0])


def stream_lag(client: redis.Redis, stream: str, group: str) -> float:
    """Age in seconds of the oldest stream entry the group has not acknowledged (pending, or not yet
    delivered), from its id's millisecond part against Redis' own clock; 0 when all is done."""
    groups = {(g["name"].decode() if isinstance(g["name"], bytes) else g["name"]): g
              for g in client.xinfo_groups(stream)}
    info = groups.get(group)
    if info is None:
        return 0.0
    oldest = []
    if info.get("pending"):
        oldest.append(_id_ms(client.xpending(stream, group)["min"]))
    last = info["last-delivered-id"]
    last = last.decode() if isinstance(last, bytes) else last
    undelivered = client.xrange(stream, min=f"({last}", count=1)
    if undelivered:
        oldest.append(_id_ms(undelivered[0][0]))
    if not oldest:
        return 0.0
    seconds, micros = client.time()
    return round(max(0.0, (seconds * 1000 + micros / 1000 - min(oldest)) / 1000), 3)


class EmbeddedStats:
    """The figures an embedded process adds to `Pipeline.system_stats` (the pipeline's `extra_stats`).

    Gets its sources from the Runtime; returns a dict that replaces `rejected` by the sum of the
    pipeline's and the API's rejections, so `update()` on the pipeline's stats is enough.
    """

    def __init__(self, name: str, pipeline, queue, connections, hub, rejects: RejectCounter, cache_dir: Path):
        self.name, self.pipeline, self.queue, self.connections, self.hub = name, pipeline, queue, connections, hub
        self.rejects, self.cache = rejects, DiskcacheStats(cache_dir)
        self.rates = RateMeter()
        self.process = ProcessSampler()

    def __call__(self) -> dict:
        conns = self.connections.stats()
        process = self.process.sample()
        refused = self.rejects.as_dict()
        rates = self.rates.update(events_in=self.queue.accepted, events_out=self.pipeline.stats.processed)
        return {
            **conns, "hub": self.hub.status(), "mode": "embedded",
            **merge_rejected(self.pipeline.stats.rejected, refused["rejected"]),
            "rejected_requests": refused["rejected_requests"],
            **rates, "rate_window_s": self.rates.window,
            "ingest_lag_s": round(self.queue.oldest_age(), 3), "ingest_lag_basis": "oldest event waiting in the queue",
            "queue_capacity": self.queue.capacity,
            "redis": {"status": "not used", "note": "embedded mode (no REDIS_URL)"},
            "background_cache": self.cache.collect(),
            "memory_rss_bytes": process["rss_bytes"], "cpu_percent": process["cpu_percent"],
            "processes": {self.name: {"role": "embedded", **process, "connections": conns["connections"],
                                      "connections_by_channel": conns["connections_by_channel"],
                                      "processed": self.pipeline.stats.processed}},
        }


class WebReport:
    """What a distributed web process reports to the leader each second (services.cluster.reports): its
    sockets, the events its API refused, and its memory and CPU."""

    def __init__(self, connections, rejects: RejectCounter):
        self.connections, self.rejects = connections, rejects
        self.process = ProcessSampler()

    def __call__(self) -> dict:
        return {**self.connections.stats(), **self.rejects.as_dict(), "process": self.process.sample()}


class LeaderStats:
    """What the leader worker adds to the composed cluster stats (services.cluster.reports.compose): rates,
    the stream's lag, Redis itself and the Celery queue. One per WorkerNode; the rate window starts
    again when the lease moves to another worker."""

    def __init__(self, client: redis.Redis, stream: str, group: str, max_backlog: int):
        self.client, self.stream, self.group, self.max_backlog = client, stream, group, max_backlog
        self.rates = RateMeter()

    def __call__(self, system: dict) -> dict:
        stream = system.get("stream", {})
        return {**self.rates.update(events_in=stream.get("entries_added", 0), events_out=system.get("processed", 0)),
                "rate_window_s": self.rates.window,
                "ingest_lag_s": stream_lag(self.client, self.stream, self.group),
                "ingest_lag_basis": "oldest unacknowledged stream entry",
                "queue_capacity": self.max_backlog, "redis": redis_status(self.client),
                "background_cache": celery_stats(self.client)}
