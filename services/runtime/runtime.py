"""Wires the services for one server process and starts/stops their threads.

Building a Runtime opens the database and creates objects but starts nothing, so the app can be
created in tests or by gunicorn without side effects. The stores every mode shares (users, alerts,
API keys, audit, tenant settings, uploads, calculation records) are built here; what differs
between embedded and distributed mode is one `Backend` (services.runtime.backends), chosen once
from the config. The web layer uses `hub`, `ingest`, `rate_limits`, `state`, `tickets`,
`snapshot()` and the session checks below, whatever the backend.

Everything per-process lives on this object (never in module globals); the Flask app keeps it in
`app.extensions["pulseboard"]`.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

from services.analysis import Limits
from services.cluster.reports import process_name
from services.cluster.system_stats import RejectCounter
from services.config import Config
from services.history.store import SqlHistoryStore
from services.realtime import protocol
from services.realtime.calculations import CalculationJobs
from services.realtime.connections import ConnectionRegistry
from services.realtime.hub import Hub, Message, Subscription
from services.realtime.selection import Selection, select_live
from services.runtime.backends import Backend, backend_for
from services.runtime.selections import SelectionKpis
from services.security.apikeys import ApiKeyStore
from services.security.tickets import KeyPrincipal
from services.security.sessions import SessionStore, session_key
from services.security.users import User, UserStore
from services.storage.alerts import AlertStore
from services.storage.calc_records import CalcRecords
from services.storage.db import Database
from services.storage.upload_import import import_folder
from services.storage.uploads import UploadStore
from services.tenants.admin import AdminService
from services.tenants.audit import AuditLog
from services.tenants.settings import TenantSettings

log = logging.getLogger(__name__)

CONTROL_TOPIC = "*:control"     # process-to-process messages (never a client channel)
SNAPSHOT_ALERTS = 20
MISSED_ALERTS_MAX = 500


class Runtime:
    def __init__(self, config: Config, hub: Hub | None = None):
        self.config = config
        self.name = process_name("web")
        self.db = Database.from_config(config)
        self.users = UserStore(self.db)
        self.sessions = SessionStore(self.db, config.session_idle_hours * 3600, config.session_max_days * 86400)
        self.alerts = AlertStore(self.db)
        self.api_keys = ApiKeyStore(self.db)
        self.audit = AuditLog(self.db)
        self.settings = TenantSettings.from_config(self.db, config)
        self.history = SqlHistoryStore(self.db) if config.history else None    # the stream's history
        self.selections = (SelectionKpis(self.db, config.kpi_window_seconds)   # filtered dashboards' KPIs
                           if self.history is not None else None)
        self.uploads = UploadStore(self.db, Limits.from_config(config), config.data_dir / "upload-work")
        import_folder(self.uploads, config.data_dir / "uploads")     # files of earlier releases, once
        self.uploads.sweep()                    # what a process killed mid-upload left (a day old)
        self.connections = ConnectionRegistry()
        self.rejects = RejectCounter()          # events the ingest API refused (system channel)
        self.started = False
        self.backend: Backend = backend_for(config, self, hub)
        self.hub = self.backend.hub
        self.state = self.backend.state
        self.ingest = self.backend.ingest
        self.rate_limits = self.backend.rate_limits
        self.tickets = self.backend.tickets
        self.market = self.backend.market
        self.admin = AdminService(self.users, self.api_keys, self.settings, self.audit, self.sign_out_everywhere,
                                  self.backend.redis_status)
        self.jobs = CalculationJobs(self.hub)     # WebSocket `calculate` requests
        # how the pages' background calculations went (a record silent for CALC_STALE_SECONDS: failed)
        self.calc_records = CalcRecords(self.db, stale_seconds=config.calc_stale_seconds)

    def history_raw_since(self) -> float:
        """The oldest time raw events are still kept for (older ranges come from the rollups)."""
        return time.time() - self.config.history_raw_hours * 3600

    # -- lifecycle -------------------------------------------------------------------------------
    def start_web(self) -> None:
        """What every web process needs: the hub relay, the control subscription, and whatever the
        backend adds (stats reports in distributed mode)."""
        self.hub.start()
        self.hub.subscribe(Subscription(self._control), [CONTROL_TOPIC])
        self.backend.start_web(self)

    def start(self) -> None:
        """`python app.py`: the web part plus the pipeline (or a worker node) in this process."""
        if self.started:
            return
        self.started = True
        self.start_web()
        self.backend.start(self)

    def stop(self) -> None:
        self.backend.stop()
        if self.selections is not None:
            self.selections.stop()
        self.jobs.close()
        self.hub.close()

    # -- sessions (services.security.sessions) -------------------------------------------------
    def sign_in(self, user: User, remember: bool = False) -> User:
        """A new server-side session for a user who just proved who they are; the returned user
        carries its token (what the cookie keeps)."""
        token = self.sessions.create(user.id, remember)
        return replace(user, session_token=token, session_key=session_key(token))

    def session_user(self, token) -> User | None:
        """Who a request's session cookie stands for, while the session lives and the account is
        enabled (checked on every request, in every web process)."""
        found = self.sessions.for_token(token)
        if found is None:
            return None
        user = self.users.get(found.user_id)
        if user is None or not user.active:
            self.sessions.end(found.key)
            return None
        return replace(user, session_token=token, session_key=found.key)

    def sign_out(self, user: User) -> None:
        """Logout: this session ends, and the sockets it opened close, in every web process."""
        if user.session_key:
            self.sessions.end(user.session_key)
            self._close_sockets(user.id, "signed out", user.session_key)

    def sign_out_everywhere(self, user_id, reason: str = "signed out everywhere") -> None:
        """Every session of the user ends and every socket closes (also what a new password or a
        disabled account does: the user store ends the sessions in the same transaction)."""
        self.sessions.end_user(user_id)
        self._close_sockets(user_id, reason)

    # -- control messages between web processes ------------------------------------------------
    def _close_sockets(self, user_id, reason: str, session: str | None = None) -> None:
        """Close a user's WebSockets (one session's, or all) in every web process, through the hub."""
        body = {"user_id": user_id, "reason": reason, "session": session}
        self.hub.publish(CONTROL_TOPIC, [Message("close_user", None, json.dumps(body))])

    def _control(self, _topic: str, messages: list) -> None:
        for message in messages:
            if message.type == "close_user":
                body = json.loads(message.json)
                reason = body.get("reason", "signed out")
                closed = self.connections.close_user(body["user_id"], reason, body.get("session"))
                if closed:
                    log.info("closed %d socket(s) of user %s (%s)", closed, body["user_id"], reason)

    # -- who is connected ----------------------------------------------------------------------------
    def issue_ticket(self, principal) -> str:
        owner = ({"key": principal.prefix} if isinstance(principal, KeyPrincipal)
                 else {"user": principal.id, "session": principal.session_key})
        return self.tickets.issue(owner)

    def redeem_ticket(self, ticket: str):
        """The user or API key a valid, unused ticket was issued to (still active: the session it
        was issued in still lives, the key is not revoked), else None."""
        owner = self.tickets.redeem(ticket)
        if owner is None:
            return None
        if "user" in owner:
            session = self.sessions.find(owner.get("session") or "")
            user = self.users.get(owner["user"]) if session is not None else None
            if user is None or not user.active or session.user_id != user.id:
                return None
            return replace(user, session_key=session.key)
        record = self.api_keys.active(owner["key"])
        return KeyPrincipal(record.prefix, record.name, record.tenant) if record else None

    def principal_ended(self, principal) -> str | None:
        """Re-checked while a socket is open: why it may no longer be (the API key revoked, the
        account disabled, its session ended or expired), or None while all is well. An open
        dashboard counts as activity for the session's idle lifetime; the absolute one still ends it."""
        if isinstance(principal, KeyPrincipal):
            return None if self.api_keys.active(principal.prefix) is not None else "API key revoked"
        # The session is read before the account: disabling ends the sessions in the same
        # transaction, so a session gone missing between the two reads is always seen with the
        # account already disabled, and the reason is never a false "signed out".
        session = self.sessions.find(principal.session_key or "", touch=True)
        user = self.users.get(principal.id)
        if user is None or not user.active:
            return "account disabled"
        if session is None:
            return "signed out"
        return None

    # -- reads for the web layer -----------------------------------------------------------------
    def snapshot(self, tenant: str, since_alert_id: int | None = None, selection: Selection | None = None) -> dict:
        """Everything a client needs to draw the dashboard from scratch (WS `snapshot`, REST fallback).
        With Redis away the backend serves the last live state it read, marked `stale`. With a
        `selection`, only its entities, and its own KPIs over the window (from the history)."""
        entities = selection.as_dict() if selection is not None else None
        missed = None if since_alert_id is None else self.missed_alerts(tenant, since_alert_id, selection)
        live = self.backend.live(tenant, self)
        if selection is not None:
            live = select_live(live, selection)
            if self.selections is not None:
                live["kpis"] = self.selections.compute(tenant, selection)
            live["selection"] = entities
        return protocol.snapshot(live, self.alerts.recent(tenant, SNAPSHOT_ALERTS, entities=entities), missed)

    def missed_alerts(self, tenant: str, since_alert_id: int, selection: Selection | None = None) -> list:
        """The stored alerts after `since_alert_id` (oldest first, at most MISSED_ALERTS_MAX): what a
        reconnecting client did not see."""
        entities = selection.as_dict() if selection is not None else None
        return self.alerts.after(tenant, since_alert_id, MISSED_ALERTS_MAX, entities=entities)

    def system_stats(self) -> dict:
        return self.backend.system_stats(self)
