"""The server side of `/ws`: one `LiveConnection` per socket.

A connection is the socket's application state (its user and tenant, subscriptions, filter and
outbox); the socket itself lives on the process's `SocketLoop` (services.web.socket_loop), which
writes the outbox's replies and frames and hands client messages to `message` on a worker, one at
a time. Origin and login are checked before the upgrade (services.web.auth), so by the time a
`LiveConnection` exists the user is known; the tenant comes from that user, never from the client.
"""
from __future__ import annotations

import itertools
import threading
import logging
import time

from services.realtime.selection import Selection
from services.realtime import protocol
from services.realtime.protocol import CLOSE_DISABLED, CLOSE_POLICY, CLOSE_SERVER_ERROR, CLOSE_SIGNED_OUT, CLOSE_TRY_AGAIN
from services.realtime.hub import Subscription, topics_for
from services.realtime.frames import tick
from services.realtime.outbox import Outbox
from services.security.ratelimit import TokenBuckets
from services.storage.db import unavailable

DATABASE_AWAY = "the database cannot be reached right now; nothing was changed, try again in a moment"

log = logging.getLogger(__name__)


def write_timeout(config) -> float:
    """How long a socket may take nothing before the peer counts as gone: two ping intervals (a live
    client drains its socket far faster), and never less than 10 s."""
    return max(10.0, 2 * config.ws_ping_interval)


class LiveConnection:
    _ids = itertools.count(1)

    def __init__(self, user, runtime):
        self.id = next(self._ids)
        self.user = user
        self.tenant = user.tenant
        self.runtime = runtime
        config = runtime.config
        self.outbox = Outbox(interval=config.ws_frame_interval, max_points=config.ws_max_points_per_frame,
                             snapshot=self._snapshot_if_reachable, frames=runtime.connections.frames)
        self.subscription = Subscription(self._deliver)
        self.channels: set[str] = set()
        self.selection: Selection | None = None       # a filtered dashboard (services.realtime.selection)
        self._selection_kpis: int | None = None
        self._close_request: tuple[int, str] | None = None
        self._snapshot_owed = False         # a resync's snapshot the database could not give yet
        self._snapshot_asked: tuple | None = None   # (since_alert_id, id) of a snapshot asked for before
        self._snapshot_generation: int | None = None  # the hub first subscribed; its generation at the last one
        self._snapshot_lock = threading.Lock()      # messages and checks run on different workers
        self._hub_seen: tuple | None = None
        self.opened = time.monotonic()
        self._policy_round = tick(self.opened, config.ws_session_check)
        self._inbound = TokenBuckets(config.ws_message_rate, 2 * config.ws_message_rate)
        self.refused_messages = 0

    # -- lifecycle (called by the socket loop) ---------------------------------------------------
    def open(self) -> None:
        """The socket is upgraded: count it (caps, stats) and greet the client."""
        self.runtime.connections.add(self)
        self.outbox.direct(protocol.encode(protocol.welcome(self.user, self.tenant,
                                                            self.runtime.config.ws_frame_interval, self.runtime.name)))

    def message(self, text) -> None:
        """A client message (on a worker, never the loop). Nothing escapes: one message's failure gets
        an `error` reply and the socket stays; flooding past the rate closes it."""
        if self._close_request is not None:
            return
        if not self._inbound.take("in")[0]:
            self._refuse_message()
            return
        try:
            self.handle(text)
        except Exception as exc:
            if unavailable(exc):
                self._reply(protocol.error("database_unavailable", DATABASE_AWAY))
                return
            log.exception("connection %s: handling a client message failed", self.id)
            self._reply(protocol.error("server_error", "the server could not handle this message"))

    def check(self, memo: dict | None = None) -> None:
        """Every second or so (on a worker): tell the client about the hub, and close the socket if its
        user is gone or disabled or it never subscribed. A failure here ends the socket with 1011.
        The session check runs on the rounds of WS_SESSION_CHECK seconds, the same for every socket,
        and `memo` (one per round of the loop) answers a user's other sockets from the first one's."""
        try:
            memo = {} if memo is None else memo
            self._hub_seen = self._hub_status(self._hub_seen, memo)
            policy_round = tick(time.monotonic(), self.runtime.config.ws_session_check)
            if policy_round != self._policy_round:
                self._policy_round = policy_round
                reason = self._policy_check(memo)
                if reason is not None:
                    self.close(*reason)
        except Exception:
            log.exception("connection %s failed; closing with %s", self.id, CLOSE_SERVER_ERROR)
            self.close(CLOSE_SERVER_ERROR, "server error")

    def closing(self) -> tuple[int, str, list[str]]:
        """Why the socket closes and what is said before: the replies still queued (e.g. the
        `rate_limited` errors that explain a 1008) and, when the session ended, `session_ended`
        (not every client sees close codes)."""
        if self._close_request is None and self.outbox.overflowed:
            log.warning("connection %s fell too far behind; closing with %s", self.id, CLOSE_TRY_AGAIN)
            self._close_request = (CLOSE_TRY_AGAIN, "too far behind; reconnect and resync")
        code, reason = self._close_request or (1000, "")
        last_words = self.outbox.take_direct()
        if code in (CLOSE_SIGNED_OUT, CLOSE_DISABLED):
            last_words.append(protocol.encode(protocol.session_ended(reason)))
        return code, reason, last_words

    def released(self) -> None:
        """The socket is gone: free the hub subscription, the filter feed and the registry entry (last,
        and always: it counts toward the per-user and per-server caps)."""
        self.outbox.close()
        try:
            self._select(None)
            self.runtime.hub.unsubscribe(self.subscription)
        except Exception:
            log.exception("connection %s: releasing failed", self.id)
        finally:
            self.runtime.connections.remove(self)

    def close(self, code: int, reason: str) -> None:
        """Ask for a close from any thread (logout, the checks): the loop sends the close frame."""
        if self._close_request is None:
            self._close_request = (code, reason)
        self.outbox.close()

    def _refuse_message(self) -> None:
        """Over the message rate: answer with an error; keep flooding and the socket is closed."""
        self.refused_messages += 1
        if self.refused_messages > 5 * self.runtime.config.ws_message_rate:
            self.close(CLOSE_POLICY, "too many messages")
        else:
            self.outbox.direct(protocol.encode(protocol.error(
                "rate_limited", f"at most {self.runtime.config.ws_message_rate:g} messages a second; this one was dropped")))

    def _policy_check(self, memo: dict) -> tuple[int, str] | None:
        """Why this socket must close now, if it must: the user is gone or disabled, or it idles.
        The database unreachable decides nothing: the socket stays open and is checked again later."""
        principal = (type(self.user).__name__, getattr(self.user, "prefix", None), self.user.id,
                     getattr(self.user, "session_key", None))
        try:
            ended = memo[principal] if principal in memo else memo.setdefault(
                principal, self.runtime.principal_ended(self.user))
        except Exception as exc:
            if not unavailable(exc):
                raise
            ended = None
        if ended is not None:
            return protocol.close_code_for(ended), ended
        if not self.channels and time.monotonic() - self.opened > self.runtime.config.ws_subscribe_timeout:
            return CLOSE_POLICY, "idle: subscribe to a channel"
        return None

    def _hub_status(self, previous: tuple | None, memo: dict) -> tuple:
        """Tell the client when the hub (Redis) is lost or back: it cannot learn that from frames.

        A new hub `generation` while connected means the relay re-subscribed (e.g. Redis dropped it
        as a slow subscriber) and messages may have been lost: the client gets a fresh snapshot, also
        when this socket saw the hub `degraded` in between (the relay noticed the loss before it
        re-subscribed). The hub is asked once per round (`memo`), not once per socket.
        """
        status = memo["hub"] if "hub" in memo else memo.setdefault("hub", self.runtime.hub.status())
        if status.get("starting"):      # this process's relay is making its first subscription: nothing
            return previous             # to tell yet; snapshots asked for wait for it (_snapshot_asked_for)
        ok, generation = bool(status.get("connected", True)), status.get("generation", 0)
        with self._snapshot_lock:
            if previous is not None and ok and generation != previous[1]:
                # A snapshot made since the relay (re)subscribed misses nothing: the client has it.
                stale = generation != self._snapshot_generation
                if stale or not previous[0]:
                    self._reply(protocol.status(True, status, resync=stale))
                self._snapshot_owed = self._snapshot_owed or stale
            elif ok != (previous[0] if previous else None) and (previous is not None or not ok):
                self._reply(protocol.status(ok, status))
            if ok and (self._snapshot_owed or self._snapshot_asked is not None):
                self._owed_snapshot(generation)
        return ok, generation

    def _owed_snapshot(self, generation: int) -> None:
        """The snapshot asked for while the hub was starting (it answers a resync too), else the resync's;
        nothing yet while the database cannot be reached (the next check tries again)."""
        asked = self._snapshot_asked
        try:
            snapshot = self._requested_snapshot(*asked) if asked is not None else self._snapshot_if_reachable()
        except Exception as exc:
            if not unavailable(exc):
                raise
            snapshot = None
        if snapshot is not None:
            self.outbox.direct(snapshot)
            self._snapshot_owed, self._snapshot_asked, self._snapshot_generation = False, None, generation

    # -- client messages -------------------------------------------------------------------
    def handle(self, text) -> None:
        try:
            message = protocol.parse_client_message(text)
        except protocol.ProtocolError as exc:
            self.outbox.direct(protocol.encode(protocol.error(exc.code, str(exc))))
            return
        kind, request_id = message["type"], message.get("id")
        if "filter" in message:
            self._select(message["filter"])
        if kind == "filter":
            self._reply(protocol.filtered(self.selection, request_id))
            self.outbox.direct(self._snapshot_json())
        elif kind == "subscribe":
            self.runtime.hub.subscribe(self.subscription, self._topics(message["channels"]))
            self.channels.update(message["channels"])
            self._reply(protocol.subscribed(self.channels, request_id))
        elif kind == "unsubscribe":
            self.runtime.hub.unsubscribe(self.subscription, self._topics(message["channels"]))
            self.channels.difference_update(message["channels"])
            self._reply(protocol.unsubscribed(self.channels, request_id))
        elif kind == "ping":
            self.outbox.direct(protocol.encode(protocol.pong(request_id)))
        elif kind == "snapshot":
            self._snapshot_asked_for(message.get("since_alert_id"), request_id)
        elif kind == "calculate":
            if "calculations" not in self.channels:     # results go to the channel: make sure this socket hears them
                self.runtime.hub.subscribe(self.subscription, self._topics(["calculations"]))
                self.channels.add("calculations")
            self.runtime.jobs.submit(self.tenant, self.user.id, message)

    def _topics(self, channels: list[str]) -> list[str]:
        return [t for c in channels for t in topics_for(self.tenant, self.user.id, c)]

    def _reply(self, message: dict) -> None:
        self.outbox.direct(protocol.encode(message))

    def _snapshot_json(self) -> str:
        return protocol.encode(self.runtime.snapshot(self.tenant, selection=self.selection))

    def _snapshot_asked_for(self, since_alert_id: int | None, request_id) -> None:
        """A snapshot now; or, while this process's hub makes its first subscription (a web process just
        started: after a restart every page asks at once), as soon as it has: one made before the relay
        subscribed could miss what was published meanwhile, and the subscription would then owe the
        client a second one. When the hub is away otherwise (Redis down) the client gets the last state
        now, marked stale, and a fresh one when the hub is back."""
        status = self.runtime.hub.status()
        with self._snapshot_lock:
            if status.get("starting"):
                self._snapshot_asked = (since_alert_id, request_id)
                return
            snapshot = self._requested_snapshot(since_alert_id, request_id)
            self.outbox.direct(snapshot)
            self._snapshot_asked, self._snapshot_generation = None, status.get("generation", 0)

    def _requested_snapshot(self, since_alert_id: int | None, request_id) -> str:
        """The snapshot a client asked for: the tenant's and filter's, shared with every socket asking
        within a quarter of a second (after a restart every page asks at once, and one build reads the
        database), plus this client's own missed alerts and request id."""
        shared = self.runtime.connections.snapshots.get((self.tenant, self.selection), self._snapshot_json)
        own: dict = {}
        if since_alert_id is not None:
            own["missed_alerts"] = [protocol.alert_message(a)
                                    for a in self.runtime.missed_alerts(self.tenant, since_alert_id, self.selection)]
        if request_id is not None:
            own["id"] = request_id
        return protocol.with_fields(shared, own)

    def _snapshot_if_reachable(self) -> str | None:
        """A resync's snapshot, or None while the database cannot be reached (its alerts live there): a
        resync then waits for the database (the hub check tries again), the socket stays open. Shared
        with the sockets of the same tenant and filter that resync within a quarter of a second (after a
        stall or a hub resync they all do at once): services.realtime.frames.RecentTexts."""
        try:
            return self.runtime.connections.snapshots.get((self.tenant, self.selection), self._snapshot_json)
        except Exception as exc:
            if not unavailable(exc):
                raise
            return None

    # -- a filtered dashboard ------------------------------------------------------------------
    def _deliver(self, topic: str, messages: list) -> None:
        """Hub messages into the outbox; a filtered socket keeps only its selection's, and takes its
        KPIs from the selection feed instead of the tenant's."""
        selection = self.selection
        if selection is None:
            self.outbox.add(topic, messages)
            return
        if topic.endswith(":kpis") and self._selection_kpis is not None:
            return
        kept = [m for m in messages if selection.matches(m.scope)]
        if kept:
            self.outbox.add(topic, kept)

    def _selection_kpi(self, topic: str, messages: list) -> None:
        if "kpis" in self.channels:
            self.outbox.add(topic, messages)

    def _select(self, selection: Selection | None) -> None:
        feed = self.runtime.selections
        if feed is not None:
            feed.detach(self._selection_kpis)
            self._selection_kpis = None
        self.selection = selection
        if feed is not None and selection is not None:
            self._selection_kpis = feed.attach(self.tenant, selection, self._selection_kpi)
