"""The server side of `/ws`: one `LiveConnection` per socket, and the registry of open ones.

Each connection has two threads: the request thread reads client messages (subscribe, ping, ...)
and a sender thread writes frames taken from the connection's `Outbox`: replies through the library,
batch frames as the bytes `FrameCache` encoded once for every socket that takes the same frame.
Only the sender writes data to the socket, so replies and frames never interleave, and a client that stops reading blocks
only its own sender. Origin and login are checked before the upgrade (services.web.auth), so by the
time a `LiveConnection` exists the user is known; the tenant comes from that user, never from
the client.
"""
from __future__ import annotations

import itertools
import logging
import socket
import threading
import time

from simple_websocket import ConnectionClosed
from wsproto.connection import ConnectionState

from services.realtime.selection import Selection
from services.realtime import protocol
from services.realtime.protocol import (CLOSE_DISABLED, CLOSE_POLICY, CLOSE_SERVER_ERROR, CLOSE_SIGNED_OUT,
                                       CLOSE_TRY_AGAIN)
from services.realtime.hub import Subscription, topics_for
from services.realtime.frames import EncodedFrame
from services.realtime.outbox import Outbox
from services.security.ratelimit import TokenBuckets
from services.storage.db import unavailable

DATABASE_AWAY = "the database cannot be reached right now; nothing was changed, try again in a moment"

log = logging.getLogger(__name__)

HUB_CHECK_SECONDS = 1.0
READ_POLL_SECONDS = 0.5    # the reader looks this often whether the socket ended under it


def write_timeout(config) -> float:
    """How long one write may block before the peer counts as gone: two ping intervals (a live
    client drains its socket far faster), and never less than 10 s."""
    return max(10.0, 2 * config.ws_ping_interval)


class LockedSocket:
    """Serialises writes to a socket shared by simple-websocket's reader thread and our sender.

    simple-websocket writes pings, pongs and close frames from its own thread with `sock.send`
    (which may write only part of a buffer); our sender writes frames. Two unsynchronised writers
    interleave bytes and corrupt the stream, so every write goes through one lock and `sendall`.
    """

    def __init__(self, sock, write_timeout: float | None = None):
        self._sock = sock
        self._lock = threading.Lock()
        if write_timeout is not None:
            # A peer that stays connected but stops reading would block a write forever, holding the
            # lock, so even the library's pings (which would detect it) could not go out: the
            # connection would never end. With a timeout the blocked write raises (an OSError the
            # library and our sender both treat as the end). Reads are safe: the library reads only
            # after its selector said there is data.
            sock.settimeout(write_timeout)

    def send(self, data) -> int:
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def send_frame(self, data: bytes, is_open) -> None:
        """Write a whole frame built elsewhere, if the connection is still open once the lock is held:
        a close frame is written under the same lock after the protocol state left OPEN, so nothing
        can follow it."""
        with self._lock:
            if not is_open():
                raise ConnectionClosed()
            self._sock.sendall(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


class LiveConnection:
    _ids = itertools.count(1)

    def __init__(self, ws, user, runtime):
        self.id = next(self._ids)
        self.ws = ws
        if not isinstance(ws.sock, LockedSocket):
            ws.sock = LockedSocket(ws.sock, write_timeout=write_timeout(runtime.config))
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
        self.opened = time.monotonic()
        self._inbound = TokenBuckets(config.ws_message_rate, 2 * config.ws_message_rate)
        self.refused_messages = 0

    # -- lifecycle -------------------------------------------------------------------------
    def serve(self) -> None:
        """Run until the socket ends, however it ends (called in the request thread). Nothing escapes:
        an exception here would make the WSGI server write an HTTP 500 onto the upgraded socket."""
        self.runtime.connections.add(self)
        sender = threading.Thread(target=self._send_loop, name=f"ws-send-{self.id}", daemon=True)
        try:
            sender.start()
            self.outbox.direct(protocol.encode(protocol.welcome(self.user, self.tenant,
                                                                self.runtime.config.ws_frame_interval, self.runtime.name)))
            self._read_loop()
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("connection %s failed; closing with %s", self.id, CLOSE_SERVER_ERROR)
            self._close_request = self._close_request or (CLOSE_SERVER_ERROR, "server error")
        finally:
            self._release(sender)

    def _read_loop(self) -> None:
        """Handle client messages until the socket ended or a close was asked for.

        `receive()` without a timeout can wait forever once simple-websocket closed the socket itself
        (1009 message too big, 1007 invalid UTF-8): it wakes the reader before it marks the socket
        closed. So wait a little at a time and look at `connected` in between."""
        while self._close_request is None:
            text = self.ws.receive(timeout=READ_POLL_SECONDS)
            if text is None:
                if not self.ws.connected:
                    return
            elif not self._inbound.take("in")[0]:
                self._refuse_message()
            else:
                try:
                    self.handle(text)
                except Exception as exc:    # one message's failure: say so, keep the socket
                    if unavailable(exc):
                        self._reply(protocol.error("database_unavailable", DATABASE_AWAY))
                        continue
                    log.exception("connection %s: handling a client message failed", self.id)
                    self._reply(protocol.error("server_error", "the server could not handle this message"))

    def _release(self, sender: threading.Thread) -> None:
        """Free everything the connection holds, whichever way it ended: the sender (after it sent
        what was queued and any close frame), the hub subscription, the TCP connection, the registry
        entry (last, and always: it counts toward the per-user and per-server caps)."""
        self.outbox.close()
        try:
            self._select(None)
            self.runtime.hub.unsubscribe(self.subscription)
            if sender.ident is not None:
                sender.join(timeout=2)
            self._finish_close()
            if sender.ident is not None:
                sender.join(timeout=2)      # a write the shutdown broke off
        except Exception:
            log.exception("connection %s: releasing failed", self.id)
        finally:
            self.runtime.connections.remove(self)

    def close(self, code: int, reason: str) -> None:
        """Ask for a close from another thread (logout). The sender thread sends the close frame:
        the WebSocket protocol state is not thread-safe, so only one thread ever writes it."""
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

    def _policy_check(self) -> tuple[int, str] | None:
        """Why this socket must close now, if it must: the user is gone or disabled, or it idles.
        The database unreachable decides nothing: the socket stays open and is checked again later."""
        try:
            ended = self.runtime.principal_ended(self.user)
        except Exception as exc:
            if not unavailable(exc):
                raise
            ended = None
        if ended is not None:
            return protocol.close_code_for(ended), ended
        if not self.channels and time.monotonic() - self.opened > self.runtime.config.ws_subscribe_timeout:
            return CLOSE_POLICY, "idle: subscribe to a channel"
        return None

    def _finish_close(self) -> None:
        """End the TCP connection ourselves, however the socket ended (a close we started, the
        library's own 1009/1007/ping-timeout closes, the client's close or its disappearance):
        Werkzeug's dev server writes an HTTP status line when the route returns, and a client still
        reading would take it for a broken frame; nothing may follow a close frame. simple-websocket
        only closes its socket object, which Werkzeug still holds, so shut the connection down.
        After a close we started, the client gets up to a second to answer it first."""
        reader = getattr(self.ws, "thread", None)
        if reader is not None:
            reader.join(timeout=1.0)
        try:
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _hub_status(self, previous: tuple | None) -> tuple:
        """Tell the client when the hub (Redis) is lost or back: it cannot learn that from frames.

        A new hub `generation` while connected means the relay re-subscribed (e.g. Redis dropped it
        as a slow subscriber) and messages may have been lost: the client gets a fresh snapshot.
        """
        status = self.runtime.hub.status()
        ok, generation = bool(status.get("connected", True)), status.get("generation", 0)
        if previous is not None and ok and previous[0] and generation != previous[1]:
            self.ws.send(protocol.encode(protocol.status(True, status, resync=True)))
            self._snapshot_owed = True
        elif ok != (previous[0] if previous else None) and (previous is not None or not ok):
            self.ws.send(protocol.encode(protocol.status(ok, status)))
        if self._snapshot_owed and ok:
            snapshot = self._snapshot_if_reachable()
            if snapshot is not None:
                self.ws.send(snapshot)
                self._snapshot_owed = False
        return ok, generation

    def _send_loop(self) -> None:
        hub_seen, checked, policed = None, 0.0, time.monotonic()
        try:
            while not self.outbox.closed:
                if time.monotonic() - checked >= HUB_CHECK_SECONDS:
                    hub_seen, checked = self._hub_status(hub_seen), time.monotonic()
                if time.monotonic() - policed >= self.runtime.config.ws_session_check:
                    policed = time.monotonic()
                    reason = self._policy_check()
                    if reason is not None:
                        self._close_request = reason
                        break
                frames = self.outbox.next_frame(timeout=1.0)
                if self.outbox.overflowed:
                    log.warning("connection %s fell too far behind; closing with %s", self.id, CLOSE_TRY_AGAIN)
                    self.ws.close(reason=CLOSE_TRY_AGAIN, message="too far behind; reconnect and resync")
                    return
                for frame in frames:
                    self._send(frame)
            for frame in self.outbox.take_direct():     # e.g. the rate_limited errors that explain a 1008
                self.ws.send(frame)
            if self._close_request is not None:
                code, reason = self._close_request
                if code in (CLOSE_SIGNED_OUT, CLOSE_DISABLED):   # said in a message too: not every client sees codes
                    self.ws.send(protocol.encode(protocol.session_ended(reason)))
                self.ws.close(reason=code, message=reason)
        except ConnectionClosed:
            pass
        except Exception:   # a broken socket ends this connection only
            log.exception("sender for connection %s failed", self.id)
            try:
                self.ws.close(reason=CLOSE_SERVER_ERROR, message="server error")
            except Exception:
                pass

    def _send(self, frame: str | EncodedFrame) -> None:
        if not isinstance(frame, EncodedFrame):
            self.ws.send(frame)
            return
        protocol_state = self.ws.ws           # wsproto's connection: it leaves OPEN before a close frame is written
        self.ws.sock.send_frame(frame.wire(self.ws.deflate),
                                lambda: self.ws.connected and protocol_state.state is ConnectionState.OPEN)

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
            self._reply(protocol.reply(self.runtime.snapshot(self.tenant, message.get("since_alert_id"), self.selection),
                                       request_id))
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

    def _snapshot_if_reachable(self) -> str | None:
        """A snapshot, or None while the database cannot be reached (its alerts live there): a resync
        then waits for the database (the hub check tries again), the socket stays open."""
        try:
            return self._snapshot_json()
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
