"""An ingest/model worker for distributed mode: `python -m services.runtime.worker` (run any number).

`WorkerNode` assembles one worker from the config: a consumer of the event stream, the shared
model (services.scoring.model_sync), the Redis live state, the alert store (SQLite in DATA_DIR) and a hub
to publish on. Every worker processes events; the one holding the leader lease also computes the
KPIs (4/s), publishes cluster stats and trims the stream (1/s), bridges the pub/sub ingest channel,
runs the market-data feed and, with SIMULATOR=on, the built-in simulator. `python app.py` with REDIS_URL runs one
WorkerNode inside the web process, so one command is still a complete system.
"""
from __future__ import annotations

import json
import logging
import signal
import sys
import threading

import redis

from services.cluster import reports as cluster
from services.cluster.reports import process_name
from services.storage.alerts import AlertStore
from services.pipeline.apply import Cadence, publish_kpis
from services.pipeline.batch import BatchProcessor
from services.config import Config
from services.storage.db import Database, DatabaseUnreadable
from services.storage.secret_key import secret_key
from services.realtime.hub import Hub
from services.ingest.bridge import IngestBridge
from services.cluster.lease import Lease
from services.simulation.market import MarketFeed, RedisMarketState
from services.scoring.model_sync import ModelSync
from services.scoring.models import ModelBank
from services.pipeline.publisher import Publisher
from services.realtime.redis_hub import RedisHub
from services.redis_keys import RedisKeys, connect
from services.pipeline.redis_state import RedisLiveState
from services.scoring.sensor_banks import SensorBanks
from services.simulation.sensor import make_simulator
from services.simulation.fleet import fleet_for
from services.history.store import SqlHistoryStore
from services.history.writer import HistoryRetention, HistoryWriter
from services.ingest.stream_consumer import StreamConsumer
from services.ingest.stream_producer import StreamProducer
from services.pipeline.stream_worker import StreamWorker
from services.tenants.settings import TenantSettings
from services.cluster.system_stats import LeaderStats, ProcessSampler

log = logging.getLogger(__name__)


class WorkerNode:
    def __init__(self, config: Config, hub: Hub | None = None, alerts: AlertStore | None = None,
                 name: str | None = None):
        if not config.redis_url:
            raise ValueError("a worker needs REDIS_URL")
        self.config = config
        self.name = name or process_name("worker")
        self.redis = connect(config.redis_url)
        self.keys = RedisKeys.from_config(config)
        self.hub = hub or RedisHub(config.redis_url, self.keys.hub)
        self.alerts = alerts or AlertStore(Database.from_config(config))
        self.settings = TenantSettings.from_config(self.alerts.db, config)   # admins' data source and thresholds
        secret = secret_key(config, self.alerts.db)
        self.models = ModelBank(seed=config.sim_seed or 0, name=self.name,
                                sync=ModelSync(self.redis, self.keys, secret))

        def sensor_bank(sensor_type: str) -> ModelBank:
            name = f"sensor:{sensor_type}"
            bank = ModelBank(seed=config.sim_seed or 0, name=self.name, kind="sensor",
                             sync=ModelSync(self.redis, self.keys, secret, name=name))
            try:
                bank.pull()           # join the cluster's model for this type at once
            except redis.RedisError:
                pass
            return bank
        self.state = RedisLiveState(self.redis, self.keys, config.kpi_window_seconds,
                                    dead_letter_maxlen=config.dead_letter_maxlen)
        self.consumer = StreamConsumer(self.redis, self.keys, self.name, config.claim_idle_seconds,
                                       config.max_attempts)
        self.producer = StreamProducer(self.redis, self.keys, config.stream_max_backlog, config.idempotency_seconds)
        self.publisher = Publisher(self.hub)
        self.processor = BatchProcessor(self.models, config.ws_max_points_per_frame, SensorBanks(sensor_bank),
                                        thresholds=lambda tenant: self.settings.thresholds(tenant).as_tuple())
        self.periodic = Cadence(self._publish_kpis, self._every_second)     # between batches, in the worker's thread
        self.worker = StreamWorker(self.consumer, self.state, self.processor,
                                   self.alerts, self.publisher, config.batch_max_events, config.batch_max_wait,
                                   periodic=self.periodic)
        self.history = SqlHistoryStore(self.alerts.db) if config.history else None
        self.worker.history = HistoryWriter(self.history) if self.history is not None else None
        self.lease = Lease(self.redis, self.keys.leader, self.name)
        self.simulator = (make_simulator(config.sim_profile, config.sim_seed, config.sim_anomaly_rate, unique_ids=True)
                          if config.simulator else None)
        self._leader_threads: list = []
        self.process = ProcessSampler()
        self.leader_stats = LeaderStats(self.redis, self.keys.stream, self.keys.group, config.stream_max_backlog)
        self.started = False

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self._warm_up()
        self.processor.start()
        if self.worker.history is not None:
            self.worker.history.start()
        self.worker.start()
        log.info("worker %s consuming %s as group %s", self.name, self.keys.stream, self.keys.group)

    def _warm_up(self) -> None:
        """Load the shared model; if there is none yet, fit the first one on simulator history."""
        try:
            if not self.models.pull() and self.simulator is not None:
                self.processor.warm_up_from(self.simulator)
        except redis.RedisError as exc:
            log.warning("no shared model yet (%s); the trainer will fit one when Redis is back", exc)

    def stop(self) -> None:
        self.worker.stop()
        if self.worker.history is not None:
            self.worker.history.stop()          # writes what waits first
        self._lead(False)
        self.processor.stop()
        self.lease.release()
        try:
            self.redis.hdel(self.keys.stats("workers"), self.name)
        except redis.RedisError:
            pass

    # -- between batches (the worker thread) -----------------------------------------------------
    def _publish_kpis(self) -> None:
        """Only the leader publishes KPIs: they are computed over the whole cluster's state."""
        if self.lease.held:
            publish_kpis(self.publisher, self.state)

    def _every_second(self) -> None:
        self._lead(self.lease.refresh())
        self.publisher.flush()
        stats = {**self.worker.local_stats(), "leader": self.lease.held, "model_fit_errors": self.models.fit_errors,
                 "model_version": self.models.models.version if self.models.models else 0,
                 "process": self.process.sample()}
        cluster.report(self.redis, self.keys, "workers", self.name, stats)
        if self.lease.held:
            self.consumer.trim()
            hub = {"kind": "redis", "connected": self.worker.connected,      # this hub only publishes:
                   "publish_errors": getattr(self.hub, "publish_errors", 0)}  # no relay to report on
            system = cluster.compose(self.redis, self.keys, self.consumer.backlog(), stats["model_version"], hub)
            system.update(self.leader_stats(system))
            self.redis.set(self.keys.system, json.dumps(system), ex=cluster.SYSTEM_CACHE_SECONDS)
            self.publisher.system(self.state.tenants(), system)

    def _lead(self, leading: bool) -> None:
        """Start the leader-only threads when we gain the lease, stop them when we lose it."""
        if leading and not self._leader_threads:
            log.info("worker %s is the leader", self.name)
            self._leader_threads = [IngestBridge(self.redis, self.keys, self.producer, self.config.dead_letter_maxlen,
                                                 count_rejected=self.worker.stats.count_rejected)]
            self._leader_threads.append(fleet_for(self.config, self.settings, self.producer.add, unique_ids=True,
                                                  prepared=self.simulator))
            self.simulator = None       # handed to this fleet; a later leadership makes fresh simulators
            if self.config.market_feed:       # exactly one market producer in the cluster
                self._leader_threads.append(MarketFeed(RedisMarketState(self.redis, self.keys.prefix), self.hub,
                                                       self.config.market_period))
            if self.history is not None:        # one retention in the cluster
                self._leader_threads.append(HistoryRetention(self.history, self.config.history_raw_hours,
                                                             self.config.history_days))
            for thread in self._leader_threads:
                thread.start()
        elif not leading and self._leader_threads:
            for thread in self._leader_threads:
                thread.stop()
            self._leader_threads = []


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = Config.from_env()
    if not config.redis_url:
        print("python -m services.runtime.worker needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)", flush=True)
        return 2
    try:
        node = WorkerNode(config)
    except DatabaseUnreadable as exc:       # one clear line, no traceback
        print(exc, file=sys.stderr, flush=True)
        return 1
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    node.start()
    done.wait()
    log.info("worker %s stopping", node.name)
    node.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
