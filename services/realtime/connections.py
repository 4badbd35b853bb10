"""The open WebSocket connections of one web process: for stats, caps and closing a user's sockets.

Pure Python: a connection is anything with `id`, `user`, `channels`, `outbox` and `close(code, reason)`
(services.web.socket.LiveConnection), so the runtime can own the registry without importing the
socket handler.
"""
from __future__ import annotations

import threading
from typing import Protocol

from services.realtime.frames import FrameCache, RecentTexts
from services.realtime.hub import CHANNELS
from services.realtime.outbox import Outbox
from services.realtime.protocol import close_code_for


class Connection(Protocol):
    """What the registry needs of an open socket (services.web.socket.LiveConnection is one)."""
    id: int
    user: object
    channels: set[str]
    outbox: Outbox

    def close(self, code: int, reason: str) -> None: ...

# Outbox counters reported as process totals: (stats name, Outbox attribute).
FRAME_COUNTERS = (("frames_sent", "frames_sent"), ("points_coalesced", "points_dropped_total"),
                  ("messages_merged", "messages_merged"), ("resyncs", "resyncs"))


class ConnectionRegistry:
    """The open connections of this process, for stats and for closing a user's sockets."""

    def __init__(self):
        self._lock = threading.Lock()
        self._connections: dict[int, "Connection"] = {}
        self.frames = FrameCache()          # their batch frames, encoded once per tick and content
        self.snapshots = RecentTexts()      # their resync snapshots, built once per tenant and filter at a time
        self.opened_total = 0
        self._closed_counts = dict.fromkeys((name for name, _ in FRAME_COUNTERS), 0)   # of sockets gone

    def add(self, conn: "Connection") -> None:
        with self._lock:
            self._connections[conn.id] = conn
            self.opened_total += 1

    def remove(self, conn: "Connection") -> None:
        """A socket closed: its frame counters stay in the process totals (they are counters,
        and a Prometheus counter must never go down)."""
        with self._lock:
            if self._connections.pop(conn.id, None) is not None:
                for name, attribute in FRAME_COUNTERS:
                    self._closed_counts[name] += getattr(conn.outbox, attribute)

    def all(self) -> list["Connection"]:
        with self._lock:
            return list(self._connections.values())

    def refusal(self, user_id, config) -> tuple[int, str] | None:
        """(status, message) if a new socket for this user must be refused here, else None."""
        conns = self.all()
        if len(conns) >= config.ws_max_connections:
            return 503, f"This server has its maximum of {config.ws_max_connections} live connections; retry shortly."
        if sum(1 for c in conns if str(c.user.id) == str(user_id)) >= config.ws_max_per_user:
            return 429, f"You already have {config.ws_max_per_user} live connections open; close a tab."
        return None

    def close_user(self, user_id, reason: str = "signed out", session_key: str | None = None) -> int:
        """Close a user's sockets in this process: those opened in one session (`session_key`:
        logout), or all of them (new password, disabled account, sign out everywhere); returns how
        many. A disabled account gets 4003, like the session check gives it."""
        code = close_code_for(reason)
        closed = 0
        for conn in self.all():
            if str(conn.user.id) == str(user_id) and (
                    session_key is None or getattr(conn.user, "session_key", None) == session_key):
                conn.close(code, reason)
                closed += 1
        return closed

    def stats(self) -> dict:
        with self._lock:
            conns, closed = list(self._connections.values()), dict(self._closed_counts)
        by_channel = {c: sum(1 for conn in conns if c in conn.channels) for c in CHANNELS}
        totals = {name: closed[name] + sum(getattr(c.outbox, attribute) for c in conns)
                  for name, attribute in FRAME_COUNTERS}
        return {"connections": len(conns), "connections_by_channel": by_channel,
                "connections_opened_total": self.opened_total, **totals, **self.frames.stats()}
