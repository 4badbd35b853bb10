"""Wires the services for one server process and starts/stops their threads.

Building a Runtime opens the database and creates objects but starts nothing, so the app can be
created in tests or by gunicorn without side effects; `start()` launches the model trainer, the
ingest thread and the simulator. Everything per-process lives on this object (never in module
globals), and the Flask app keeps it in `app.extensions["pulseboard"]`.
"""
from __future__ import annotations

import logging

from services import protocol
from services.alerts import AlertStore
from services.apikeys import ApiKeyStore
from services.analysis import Limits
from services.config import Config
from services.db import Database
from services.events import EventError, validate_event
from services.hub import Hub, InMemoryHub
from services.ingest import IngestQueue
from services.models import ModelBank
from services.pipeline import Pipeline
from services.ratelimit import RecentIds, TokenBuckets
from services.redis_hub import RedisHub
from services.realtime import ConnectionRegistry
from services.simulator import RetailSimulator, SimulatorSource
from services.uploads import UploadStore
from services.users import UserStore

log = logging.getLogger(__name__)

WARMUP_EVENTS = 1000
SNAPSHOT_ALERTS = 20
MISSED_ALERTS_MAX = 500


class Runtime:
    def __init__(self, config: Config, hub: Hub | None = None):
        self.config = config
        self.db = Database(config.data_dir / "pulseboard.db")
        self.users = UserStore(self.db)
        self.alerts = AlertStore(self.db)
        self.api_keys = ApiKeyStore(self.db)
        self.rate_limits = TokenBuckets(config.iot_rate_limit)
        self.recent_ids = RecentIds()
        self.uploads = UploadStore(config.data_dir / "uploads", Limits.from_config(config))
        self.hub = hub or (RedisHub(config.redis_url) if config.redis_url else InMemoryHub())
        self.queue = IngestQueue()
        self.models = ModelBank(seed=config.sim_seed or 0)
        self.pipeline = Pipeline(self.queue, self.models, self.hub, self.alerts,
                                 batch_max_events=config.batch_max_events, batch_max_wait=config.batch_max_wait,
                                 kpi_window_seconds=config.kpi_window_seconds,
                                 max_points_per_batch=config.ws_max_points_per_frame)
        self.connections = ConnectionRegistry()
        self.pipeline.extra_stats = lambda: {**self.connections.stats(), "hub": self.hub.status()}
        self.simulator = (RetailSimulator(seed=config.sim_seed, anomaly_rate=config.sim_anomaly_rate)
                          if config.simulator else None)
        self.source = (SimulatorSource(self.simulator, self.queue.put, config.sim_rate)
                       if self.simulator else None)
        self.started = False

    def start(self) -> None:
        """Warm the models up, then start the trainer, the ingest thread and the simulator."""
        if self.started:
            return
        self.started = True
        self.hub.start()                # with Redis: the relay, so this process hears every publisher
        if self.simulator is not None:
            # The simulator's recent history plays the part of the stored history a real
            # deployment would load, so scoring is meaningful from the first live event.
            self.models.warm_up([e for e in map(self._validated, self.simulator.history(WARMUP_EVENTS)) if e])
        self.models.start()
        self.pipeline.start()
        if self.source is not None:
            self.source.start()
        log.info("runtime started (simulator %s at %s events/s)", "on" if self.source else "off",
                 self.config.sim_rate if self.source else 0)

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()
        self.pipeline.stop()
        self.models.stop()
        self.hub.close()

    @staticmethod
    def _validated(raw: dict) -> dict | None:
        try:
            return validate_event(raw)
        except EventError:
            return None

    def snapshot(self, tenant: str, since_alert_id: int | None = None) -> dict:
        """Everything a client needs to draw the dashboard from scratch (WS `snapshot`, REST fallback)."""
        models = self.models.models
        snap = {
            "type": "snapshot",
            "timestamp": protocol.now_iso(),
            "kpis": self.pipeline.state.kpis(tenant),
            "points": self.pipeline.state.points(tenant),
            "alerts": self.alerts.recent(tenant, SNAPSHOT_ALERTS),
            "health": self.pipeline.state.health(tenant),
            "model": {"ready": models is not None, "version": models.version if models else 0},
            "stats": self.pipeline.system_stats(),
        }
        if since_alert_id is not None:
            snap["missed_alerts"] = self.alerts.after(tenant, since_alert_id, MISSED_ALERTS_MAX)
        return snap
