"""Wires the services for one server process and starts/stops their threads.

Building a Runtime opens the database and creates objects but starts nothing, so the app can be
created in tests or by gunicorn without side effects. Two shapes, one interface for the web layer
(`hub`, `ingest`, `rate_limits`, `state`, `snapshot`):

- embedded (no REDIS_URL): in-process queue, pipeline thread, in-memory state and hub;
- Redis (REDIS_URL): the stream producer, Redis state and Redis hub. `start_web()` is what a
  gunicorn web worker runs (relay + stats reporter); `start()` (`python app.py`) also runs a
  WorkerNode in this process, so one command is still a whole system.

Everything per-process lives on this object (never in module globals); the Flask app keeps it in
`app.extensions["pulseboard"]`.
"""
from __future__ import annotations

import json
import logging

import redis

from services.realtime import protocol
from services.storage.alerts import AlertStore
from services.analysis import Limits
from services.tenants.admin import AdminService
from services.security.apikeys import ApiKeyStore
from services.tenants.audit import AuditLog
from services.realtime.calculations import CalculationJobs
from services.storage.calc_records import CalcRecords
from services.cluster.reports import Reporter
from services.config import Config
from services.storage.db import Database
from services.realtime.hub import Hub, InMemoryHub, Message, Subscription
from services.ingest.queue import IngestQueue, QueueIngest
from services.pipeline.live_state import MemoryLiveState
from services.simulation.market import MarketFeed, MemoryMarketState, RedisMarketState
from services.scoring.models import ModelBank
from services.pipeline.embedded import Pipeline
from services.security.ratelimit import RedisTokenBuckets, TokenBuckets
from services.realtime.connections import ConnectionRegistry
from services.realtime.redis_hub import RedisHub
from services.redis_keys import RedisKeys, connect
from services.pipeline.redis_state import RedisLiveState
from services.simulation.sensor import make_simulator
from services.simulation.fleet import fleet_for
from services.ingest.stream_producer import StreamProducer
from services.security.tickets import KeyPrincipal, MemoryTickets, RedisTickets
from services.tenants.settings import TenantSettings
from services.cluster.system_stats import EmbeddedStats, RejectCounter, WebReport, redis_status
from services.storage.uploads import UploadStore
from services.security.users import UserStore
from services.runtime.worker import WorkerNode, process_name

log = logging.getLogger(__name__)

CONTROL_TOPIC = "*:control"     # process-to-process messages (never a client channel)
SNAPSHOT_ALERTS = 20
MISSED_ALERTS_MAX = 500


class Runtime:
    def __init__(self, config: Config, hub: Hub | None = None):
        self.config = config
        self.name = process_name("web")
        self.db = Database(config.data_dir / "pulseboard.db")
        self.users = UserStore(self.db)
        self.alerts = AlertStore(self.db)
        self.api_keys = ApiKeyStore(self.db)
        self.audit = AuditLog(self.db)
        self.settings = TenantSettings.from_config(self.db, config)
        self.uploads = UploadStore(config.data_dir / "uploads", Limits.from_config(config))
        self.connections = ConnectionRegistry()
        self.rejects = RejectCounter()          # events the ingest API refused (system channel)
        self.distributed = bool(config.redis_url)
        self.node: WorkerNode | None = None
        self.reporter: Reporter | None = None
        self._last_good: dict[str, dict] = {}   # tenant -> last snapshot read from Redis (served stale on outage)
        self.started = False
        if self.distributed:
            self.redis = connect(config.redis_url)
            self.keys = RedisKeys.from_config(config)
            self.hub = hub or RedisHub(config.redis_url, self.keys.hub)
            self.state = RedisLiveState(self.redis, self.keys, config.kpi_window_seconds)
            self.ingest = StreamProducer(self.redis, self.keys, config.stream_max_backlog, config.idempotency_seconds)
            self.rate_limits = RedisTokenBuckets(self.redis, self.keys.rate, config.iot_rate_limit)
            self.market = RedisMarketState(self.redis, self.keys.prefix)
            self.market_feed = None          # the leader worker runs it
        else:
            self.hub = hub or InMemoryHub()
            self.queue = IngestQueue()
            self.state = MemoryLiveState(config.kpi_window_seconds)
            self.ingest = QueueIngest(self.queue)
            self.rate_limits = TokenBuckets(config.iot_rate_limit)
            self.models = ModelBank(seed=config.sim_seed or 0)
            self.pipeline = Pipeline(self.queue, self.models, self.hub, self.alerts, self.state,
                                     batch_max_events=config.batch_max_events, batch_max_wait=config.batch_max_wait,
                                     max_points_per_batch=config.ws_max_points_per_frame)
            self.pipeline.extra_stats = EmbeddedStats(self.name, self.pipeline, self.queue, self.connections, self.hub,
                                                      self.rejects, config.data_dir / "callback-cache")
            self.pipeline.processor.thresholds = lambda tenant: self.settings.thresholds(tenant).as_tuple()
            self.simulator = (make_simulator(config.sim_profile, config.sim_seed, config.sim_anomaly_rate)
                              if config.simulator else None)     # warms the models up, then feeds the default tenant
            self.fleet = fleet_for(config, self.settings, self.queue.put, prepared=self.simulator)
            self.market = MemoryMarketState()
            self.market_feed = (MarketFeed(self.market, self.hub, config.market_period, config.sim_seed)
                                if config.market_feed else None)

        self.tickets = (RedisTickets(self.redis, self.keys, config.ws_ticket_seconds) if self.distributed
                        else MemoryTickets(config.ws_ticket_seconds))
        self.admin = AdminService(self.users, self.api_keys, self.settings, self.audit, self.end_user_sockets,
                                  self.redis_status)
        self.jobs = CalculationJobs(self.hub)     # WebSocket `calculate` requests
        self.calc_records = CalcRecords(self.db)  # how the pages' background calculations went

    # -- lifecycle -------------------------------------------------------------------------------
    def start_web(self) -> None:
        """What every web process needs: the hub relay (Redis), the control subscription and, in
        distributed mode, stats reports."""
        self.hub.start()
        self.hub.subscribe(Subscription(self._control), [CONTROL_TOPIC])
        if self.distributed and self.reporter is None:
            self.reporter = Reporter(self.redis, self.keys, "web", self.name, WebReport(self.connections, self.rejects))
            self.reporter.start()

    def start(self) -> None:
        """Embedded mode (`python app.py`): the web part plus the pipeline (or a worker node) in this process."""
        if self.started:
            return
        self.started = True
        self.start_web()
        if self.distributed:
            self.node = WorkerNode(self.config, hub=self.hub, alerts=self.alerts)
            self.node.start()
            return
        if self.simulator is not None:
            self.pipeline.processor.warm_up_from(self.simulator)
        self.pipeline.processor.start()
        self.pipeline.start()
        self.fleet.start()
        if self.market_feed is not None:
            self.market_feed.start()
        log.info("runtime started (simulated tenants: %s)", ", ".join(self.settings.simulated_tenants()) or "none")

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
        if not self.distributed:
            self.fleet.stop()
            if self.market_feed is not None:
                self.market_feed.stop()
            self.pipeline.stop()
            self.pipeline.processor.stop()
        if self.reporter is not None:
            self.reporter.stop()
        self.jobs.close()
        self.hub.close()

    # -- control messages between web processes ------------------------------------------------
    def end_user_sockets(self, user_id, reason: str = "signed out") -> None:
        """Logout, disabled account, new password: close the user's WebSockets in every web process
        (through the hub), with close code 4001 and `reason`."""
        self.hub.publish(CONTROL_TOPIC, [Message("close_user", None, json.dumps({"user_id": user_id, "reason": reason}))])

    def _control(self, _topic: str, messages: list) -> None:
        for message in messages:
            if message.type == "close_user":
                body = json.loads(message.json)
                reason = body.get("reason", "signed out")
                closed = self.connections.close_user(body["user_id"], reason)
                if closed:
                    log.info("closed %d socket(s) of user %s (%s)", closed, body["user_id"], reason)

    # -- who is connected ----------------------------------------------------------------------------
    def issue_ticket(self, principal) -> str:
        owner = ({"key": principal.prefix} if isinstance(principal, KeyPrincipal)
                 else {"user": principal.id, "epoch": principal.epoch})
        return self.tickets.issue(owner)

    def redeem_ticket(self, ticket: str):
        """The user or API key a valid, unused ticket was issued to (still active), else None."""
        owner = self.tickets.redeem(ticket)
        if owner is None:
            return None
        if "user" in owner:      # still enabled, and no new password since the ticket was issued
            return self.users.for_session(f"{owner['user']}:{owner.get('epoch', 0)}")
        record = self.api_keys.active(owner["key"])
        return KeyPrincipal(record.prefix, record.name, record.tenant) if record else None

    def principal_ended(self, principal) -> str | None:
        """Re-checked while a socket is open: why it may no longer be (the API key revoked, the
        account disabled, the password changed since it connected), or None while all is well."""
        if isinstance(principal, KeyPrincipal):
            return None if self.api_keys.active(principal.prefix) is not None else "API key revoked"
        if self.users.still_signed_in(principal):
            return None
        user = self.users.get(principal.id)
        return "account disabled" if user is None or not user.active else "password changed"

    def redis_status(self) -> dict:
        """For the Admin page: the same figures the System page shows (services.cluster.system_stats)."""
        if not self.distributed:
            return {"mode": "embedded", "status": "not used"}
        return {"mode": "distributed", **redis_status(self.redis)}

    # -- reads for the web layer -----------------------------------------------------------------
    def snapshot(self, tenant: str, since_alert_id: int | None = None) -> dict:
        """Everything a client needs to draw the dashboard from scratch (WS `snapshot`, REST fallback).

        With Redis away, the last snapshot this process read is served again, marked `stale`.
        """
        try:
            live = {"kpis": self.state.kpis(tenant), "points": self.state.points(tenant),
                    "health": self.state.health(tenant), "sensors": self.state.readings(tenant),
                    "market": self.market.snapshot(),
                    "model": self._model_info(), "stats": self.system_stats()}
            self._last_good[tenant] = live
        except redis.RedisError:
            live = dict(self._last_good.get(tenant) or {
                "kpis": {}, "points": [], "health": [], "sensors": [], "market": {"latest": None, "history": []},
                "model": {"ready": False, "version": 0},
                "stats": {}},
                stale=True)
            live["stats"] = dict(live["stats"], hub=self.hub.status())
        snap = {"type": "snapshot", "timestamp": protocol.now_iso(), **live,
                "alerts": [protocol.alert_message(a) for a in self.alerts.recent(tenant, SNAPSHOT_ALERTS)]}
        if since_alert_id is not None:
            snap["missed_alerts"] = [protocol.alert_message(a) for a in self.alerts.after(tenant, since_alert_id, MISSED_ALERTS_MAX)]
        return snap

    def _model_info(self) -> dict:
        if not self.distributed:
            models = self.models.models
            return {"ready": models is not None, "version": models.version if models else 0}
        version = json.loads(self.redis.get(self.keys.model_meta()) or b'{"version": 0}')["version"]
        return {"ready": version > 0, "version": version}

    def system_stats(self) -> dict:
        if not self.distributed:
            return self.pipeline.system_stats()
        cached = self.redis.get(self.keys.system)
        stats = json.loads(cached) if cached else {}
        return dict(stats, hub=self.hub.status(), this_process={"name": self.name, **self.connections.stats()})
