"""Per-connection coalescing queue: what one WebSocket client has yet to receive.

The hub adds messages from the ingest thread; the socket loop takes frames on its ticks, and is
woken (`on_ready`) for replies and closes. The two never wait on each other beyond a short lock, so a slow or stalled client cannot slow the
pipeline or any other client. The outbox is bounded by construction:

- keyed messages (KPIs, health per entity, system stats) replace their unsent predecessor;
- points (`iot` channel) keep only the newest `max_points`; the rest are counted as `dropped`;
- reliable messages (alerts) are all kept, in order, up to `max_reliable`; past that the client is
  too far behind to catch up frame by frame and the connection is told to close (1013), after which
  the client reconnects and fetches what it missed by alert id. Nothing is dropped silently.

Frames go out at most once per `interval` seconds, on the process's frame clock (the interval's grid,
services.realtime.frames.tick), so that every socket with the same subscriptions takes the same messages
at the same tick and `FrameCache` encodes their frame once; a frame's `seq` is its tick. Replies to the
client's own requests (pong, error, snapshot) go out at once. If what waits for the client has waited `stall_seconds` (it
could not take frames) and points were dropped meanwhile, it gets a fresh snapshot instead of stale deltas: `take` then asks for
one (`resync_wanted`) and sends nothing more until `resync` (on a worker: it reads the database) has
put it first in line.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from typing import Callable

from services.realtime.frames import EncodedFrame, FrameCache, tick
from services.realtime.hub import Message, channel_of
from services.realtime.protocol import batch_frame

log = logging.getLogger(__name__)

DROPPABLE_CHANNELS = frozenset({"iot"})
MAX_INPUTS = 1000          # hub deliveries remembered for the frame's cache key; past that it is not shared


class Outbox:
    def __init__(self, interval: float = 0.1, max_points: int = 100, max_reliable: int = 5000,
                 stall_seconds: float = 2.0, snapshot: Callable[[], str | None] | None = None, clock=time.monotonic,
                 frames: FrameCache | None = None, on_ready: Callable[[], None] | None = None):
        self.interval = interval
        self.frames = frames or FrameCache()
        self.max_points = max_points
        self.max_reliable = max_reliable
        self.stall_seconds = stall_seconds
        self.snapshot = snapshot
        self.clock = clock
        self._lock = threading.Lock()
        self.on_ready = on_ready        # called (outside the lock) when a reply, a close or an overflow waits
        self._keyed: OrderedDict = OrderedDict()
        self._points: deque = deque(maxlen=max_points)
        self._reliable: list[str] = []
        self._direct: deque = deque()
        self._dropped = 0
        self._inputs: list | None = []   # (topic, message list) delivered since the last frame: its cache key
        self._resync: str | None = None    # "wanted" -> "building" -> None (done), or "unavailable" (deltas next)
        self.seq = 0
        self.pending_since = 0.0            # when what waits now began to wait
        self.last_frame_at = 0.0
        self.closed = False
        self.overflowed = False
        self.frames_sent = 0
        self.points_dropped_total = 0
        self.messages_merged = 0
        self.resyncs = 0

    # -- producer side (hub thread) ---------------------------------------------------------
    def add(self, topic_name: str, messages: list[Message]) -> None:
        channel = channel_of(topic_name)
        with self._lock:
            if self.closed:
                return
            if not self.pending():
                self.pending_since = self.clock()
            if self._inputs is not None:
                self._inputs.append((topic_name, messages))
                if len(self._inputs) > MAX_INPUTS:
                    self._inputs = None
            for m in messages:
                if m.key is not None:
                    if self._keyed.pop((channel, m.key), None) is not None:
                        self.messages_merged += 1     # an unsent update replaced by a newer one
                    self._keyed[(channel, m.key)] = m.json
                elif channel in DROPPABLE_CHANNELS:
                    if len(self._points) == self.max_points:
                        self._dropped += 1
                    self._points.append(m.json)
                else:
                    self._reliable.append(m.json)
            newly_over = len(self._reliable) > self.max_reliable and not self.overflowed
            if newly_over:
                self.overflowed = True
        if newly_over:
            self._ready()           # frames wait for their tick; an overflow closes the socket now

    def direct(self, encoded: str) -> None:
        """Queue a reply to send ahead of any frame and outside the rate limit."""
        with self._lock:
            self._direct.append(encoded)
        self._ready()

    def close(self) -> None:
        """No more frames; replies already queued stay for `take_direct` (the last word before a close)."""
        with self._lock:
            self.closed = True
        self._ready()

    def _ready(self) -> None:
        if self.on_ready is not None:
            self.on_ready()

    def take_direct(self) -> list[str]:
        """The replies queued but not yet sent, e.g. the `rate_limited` errors that explain a 1008 close."""
        with self._lock:
            out = list(self._direct)
            self._direct.clear()
            return out

    # -- consumer side (the socket loop, services.web.socket_loop) ---------------------------
    def pending(self) -> bool:
        return bool(self._keyed or self._points or self._reliable)

    def _due(self, now: float) -> float:
        """When the next frame may go: the first tick of the frame clock after the last frame's."""
        if self.interval <= 0 or not self.last_frame_at:
            return now
        return (tick(self.last_frame_at, self.interval) + 1) * self.interval

    def take(self, now: float | None = None) -> list[str | EncodedFrame]:
        """What may be sent now, in order, without waiting: the replies (text), then the batch frame
        (an `EncodedFrame`, shared with the sockets that take the same) if one is due. `now`: on
        `self.clock` (injectable for tests)."""
        with self._lock:
            out: list[str | EncodedFrame] = list(self._direct)
            self._direct.clear()
            if not self.closed and self.pending() and self._resync not in ("wanted", "building"):
                now = self.clock() if now is None else now
                if now >= self._due(now):
                    stalled = now - self.pending_since > self.stall_seconds     # waiting, not idle, that long
                    if stalled and self._dropped and self.snapshot is not None and self._resync is None:
                        self._resync = "wanted"
                    else:
                        self._resync = None
                        out.append(self._take_frame(now))
            return out

    def claim_resync(self) -> bool:
        """True once per wanted resync: the caller then runs `resync` (off the socket loop)."""
        with self._lock:
            if self._resync != "wanted":
                return False
            self._resync = "building"
            return True

    def resync(self) -> None:
        """Put a fresh snapshot first in line in place of the stale deltas (the alerts pending since stay,
        for the next frame). No snapshot to be had now (its database is away): the deltas go after all."""
        try:
            snapshot = self.snapshot()
        except Exception:                   # noqa: BLE001 - the socket must not wait for it forever
            log.exception("a resync's snapshot failed; the deltas go instead")
            snapshot = None
        with self._lock:
            if snapshot is None:
                self._resync = "unavailable"
                return
            self._direct.append(snapshot)
            self._keyed.clear()
            self._points.clear()
            self._dropped = 0
            self._inputs = None             # what is left (the alerts) is this socket's own: not shared
            self.resyncs += 1
            self._resync = None
        self._ready()

    def _take_frame(self, now: float) -> EncodedFrame:
        messages = [*self._keyed.values(), *self._points, *self._reliable]
        self.seq = max(self.seq + 1, tick(now, self.interval) if self.interval > 0 else 0)
        dropped, inputs = self._dropped, self._inputs
        build = lambda: batch_frame(self.seq, messages, dropped)   # noqa: E731
        if inputs is not None:              # the same deliveries make the same frame: share it
            key = (self.seq, dropped, *((name, id(delivered)) for name, delivered in inputs))
            frame = self.frames.get(key, inputs, build)
        else:
            frame = EncodedFrame(build())
        self.points_dropped_total += self._dropped
        self._keyed.clear()
        self._points.clear()
        self._reliable = []
        self._dropped = 0
        self._inputs = []
        self.last_frame_at = now
        self.frames_sent += 1
        return frame
