"""The two shapes a process can take, behind one interface: chosen once, from the config.

- `EmbeddedBackend` (no REDIS_URL): the in-process ingest queue, the pipeline thread with its own
  models, in-memory live state, hub, rate limits, tickets and market state, the simulator fleet
  and the market feed. Everything runs in this process.
- `RedisBackend` (REDIS_URL): the stream producer, Redis live state, the Redis hub, Redis rate
  limits, tickets and market state. A web worker only relays and reports (`start_web`); `start`
  (`python app.py` with REDIS_URL) also runs a WorkerNode here, so one command is still a system.

`Runtime` (services.runtime.runtime) builds the stores both share and never asks which backend it
has: every mode-dependent decision is a method here.
"""
from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod

import redis

from services.cluster.reports import Reporter
from services.cluster.system_stats import EmbeddedStats, WebReport, redis_status
from services.config import Config
from services.history.writer import HistoryRetention
from services.history.writer_process import embedded_history_writer
from services.ingest.queue import IngestQueue, QueueIngest
from services.ingest.stream_producer import StreamProducer
from services.pipeline.embedded import Pipeline
from services.pipeline.live_state import MemoryLiveState
from services.pipeline.redis_state import RedisLiveState
from services.realtime.hub import Hub, InMemoryHub
from services.realtime.redis_hub import RedisHub
from services.redis_keys import RedisKeys, connect
from services.scoring.models import ModelBank
from services.security.ratelimit import RedisTokenBuckets, TokenBuckets
from services.security.tickets import MemoryTickets, RedisTickets
from services.simulation.fleet import fleet_for
from services.simulation.market import MarketFeed, MemoryMarketState, RedisMarketState
from services.simulation.sensor import make_simulator

log = logging.getLogger(__name__)

EMPTY_LIVE = {"kpis": {}, "points": [], "health": [], "sensors": [], "market": {"latest": None, "history": []},
              "model": {"ready": False, "version": 0}, "stats": {}}


class Backend(ABC):
    """What differs between embedded and distributed mode. Attributes every backend has: `hub`,
    `state` (live KPIs, points, health, readings), `ingest` (`add(events)`), `rate_limits`,
    `tickets`, `market` (market state)."""
    mode: str
    hub: Hub

    @abstractmethod
    def start(self, runtime) -> None:
        """The whole system in this process (`python app.py`), after `start_web`."""

    def start_web(self, runtime) -> None:
        """What a web process runs besides the hub relay (nothing, embedded)."""

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def live(self, tenant: str, runtime) -> dict:
        """The live part of a snapshot: kpis, points, health, sensors, market, model, stats."""

    @abstractmethod
    def system_stats(self, runtime) -> dict: ...

    @abstractmethod
    def redis_status(self) -> dict: ...

    def health_checks(self) -> dict:
        """Extra /healthz checks (name -> "ok" or what is wrong)."""
        return {}


class EmbeddedBackend(Backend):
    mode = "embedded"

    def __init__(self, config: Config, runtime, hub: Hub | None = None):
        self.hub = hub or InMemoryHub()
        self.queue = IngestQueue()
        self.state = MemoryLiveState(config.kpi_window_seconds)
        self.ingest = QueueIngest(self.queue)
        self.rate_limits = TokenBuckets(config.iot_rate_limit)
        self.tickets = MemoryTickets(config.ws_ticket_seconds)
        self.models = ModelBank(seed=config.sim_seed or 0)
        history = runtime.history
        self.history = embedded_history_writer(config.history_writer, runtime.db) if history is not None else None
        self.retention = (HistoryRetention(history, config.history_raw_hours, config.history_days)
                          if history is not None else None)
        self.pipeline = Pipeline(self.queue, self.models, self.hub, runtime.alerts, self.state,
                                 batch_max_events=config.batch_max_events, batch_max_wait=config.batch_max_wait,
                                 max_points_per_batch=config.ws_max_points_per_frame, history=self.history)
        self.pipeline.extra_stats = EmbeddedStats(runtime.name, self.pipeline, self.queue, runtime.connections,
                                                  self.hub, runtime.rejects, config.data_dir / "callback-cache")
        self.pipeline.processor.thresholds = lambda tenant: runtime.settings.thresholds(tenant).as_tuple()
        self.simulator = (make_simulator(config.sim_profile, config.sim_seed, config.sim_anomaly_rate)
                          if config.simulator else None)     # warms the models up, then feeds the default tenant
        self.fleet = fleet_for(config, runtime.settings, self.queue.put, prepared=self.simulator)
        self.market = MemoryMarketState()
        self.market_feed = (MarketFeed(self.market, self.hub, config.market_period, config.sim_seed)
                            if config.market_feed else None)

    def start(self, runtime) -> None:
        if self.simulator is not None:
            self.pipeline.processor.warm_up_from(self.simulator)
        self.pipeline.processor.start()
        for thread in (self.history, self.retention):
            if thread is not None:
                thread.start()
        self.pipeline.start()
        self.fleet.start()
        if self.market_feed is not None:
            self.market_feed.start()
        log.info("runtime started (simulated tenants: %s)", ", ".join(runtime.settings.simulated_tenants()) or "none")

    def stop(self) -> None:
        self.fleet.stop()
        if self.market_feed is not None:
            self.market_feed.stop()
        self.pipeline.stop()
        for thread in (self.history, self.retention):
            if thread is not None:
                thread.stop()
        self.pipeline.processor.stop()

    def live(self, tenant: str, runtime) -> dict:
        models = self.models.models
        return {"kpis": self.state.kpis(tenant), "points": self.state.points(tenant),
                "health": self.state.health(tenant), "sensors": self.state.readings(tenant),
                "market": self.market.snapshot(),
                "model": {"ready": models is not None, "version": models.version if models else 0},
                "stats": self.system_stats(runtime)}

    def system_stats(self, runtime) -> dict:
        return self.pipeline.system_stats()

    def redis_status(self) -> dict:
        return {"mode": "embedded", "status": "not used"}


class RedisBackend(Backend):
    mode = "distributed"

    def __init__(self, config: Config, runtime, hub: Hub | None = None):
        self.config = config
        self.redis = connect(config.redis_url)
        self.keys = RedisKeys.from_config(config)
        self.hub = hub or RedisHub(config.redis_url, self.keys.hub)
        self.state = RedisLiveState(self.redis, self.keys, config.kpi_window_seconds)
        self.ingest = StreamProducer(self.redis, self.keys, config.stream_max_backlog, config.idempotency_seconds)
        self.rate_limits = RedisTokenBuckets(self.redis, self.keys.rate, config.iot_rate_limit)
        self.tickets = RedisTickets(self.redis, self.keys, config.ws_ticket_seconds)
        self.market = RedisMarketState(self.redis, self.keys.prefix)
        self.node = None                 # a WorkerNode when this process runs the pipeline too
        self.reporter: Reporter | None = None
        self._last_good: dict[str, dict] = {}   # tenant -> last live state read (served stale on outage)

    def start_web(self, runtime) -> None:
        if self.reporter is None:
            self.reporter = Reporter(self.redis, self.keys, "web", runtime.name,
                                     WebReport(runtime.connections, runtime.rejects))
            self.reporter.start()

    def start(self, runtime) -> None:
        from services.runtime.worker import WorkerNode     # only a whole-system process needs one
        self.node = WorkerNode(self.config, hub=self.hub, alerts=runtime.alerts)
        self.node.start()

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
        if self.reporter is not None:
            self.reporter.stop()

    def live(self, tenant: str, runtime) -> dict:
        """With Redis away, the last state this process read is served again, marked `stale`."""
        try:
            live = {"kpis": self.state.kpis(tenant), "points": self.state.points(tenant),
                    "health": self.state.health(tenant), "sensors": self.state.readings(tenant),
                    "market": self.market.snapshot(), "stats": self.system_stats(runtime)}
            version = live["stats"].get("model_version") or 0   # the leader's model in use (verified), not the meta
            live["model"] = {"ready": version > 0, "version": version}
            self._last_good[tenant] = live
            return live
        except redis.RedisError:
            live = dict(self._last_good.get(tenant) or EMPTY_LIVE, stale=True)
            live["stats"] = dict(live["stats"], hub=self.hub.status())
            return live

    def system_stats(self, runtime) -> dict:
        cached = self.redis.get(self.keys.system)
        try:
            stats = json.loads(cached) if cached else {}
        except ValueError:
            stats = None
        if not isinstance(stats, dict):    # corrupt: the leader rewrites it within a second
            log.warning("ignoring unreadable system stats in Redis (%s)", self.keys.system)
            stats = {}
        return dict(stats, hub=self.hub.status(), this_process={
            "name": runtime.name, "repaired_entries": self.state.repaired, **runtime.connections.stats()})

    def redis_status(self) -> dict:
        return {"mode": "distributed", **redis_status(self.redis)}

    def health_checks(self) -> dict:
        try:
            self.redis.ping()
            checks = {"redis": "ok"}
        except redis.RedisError:
            checks = {"redis": "unavailable"}
        checks["hub"] = "ok" if self.hub.status().get("connected") else "reconnecting"
        return checks


def backend_for(config: Config, runtime, hub: Hub | None = None) -> Backend:
    """The one place the mode is decided."""
    return (RedisBackend if config.redis_url else EmbeddedBackend)(config, runtime, hub)
