"""Per-connection coalescing queue: what one WebSocket client has yet to receive.

The hub adds messages from the ingest thread; the socket loop takes frames on its ticks, and is
woken (`on_ready`) for replies, closes and overflows. The two never wait on each other beyond a
short lock, so a slow or stalled client cannot slow the pipeline or any other client. What a frame
carries:

- keyed messages (KPIs, health per entity, system stats) replace their unsent predecessor;
- points (`iot` channel) keep only the newest `max_points`; the rest are counted as `dropped`;
- reliable messages (alerts) are all kept, in order, up to `max_reliable`; past that the client is
  too far behind to catch up frame by frame and the connection is told to close (1013), after which
  the client reconnects and fetches what it missed by alert id. Nothing is dropped silently.

Adding costs O(1) per socket: the outbox keeps the hub's message lists as they came (`_inputs`) and
coalesces only when a frame is taken, once for every socket that took the same lists on the same
tick (`FrameCache`: a thousand sockets, one coalescing, one encoding). A socket that takes no frame
for many deliveries folds them into bounded state (`FOLD_AT`), so its memory stays bounded too.

Frames go out at most once per `interval` seconds, on the process's frame clock (the interval's grid,
services.realtime.frames.tick); a frame's `seq` is its tick. Replies to the client's own requests
(pong, error, snapshot) go out at once. If what waits for the client has waited `stall_seconds` (it
could not take frames) and points were dropped meanwhile, it gets a fresh snapshot instead of stale
deltas: `take` asks for one (`claim_resync`) and sends nothing more until `resync` (on a worker: it
reads the database) has put it first in line.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from typing import Callable, Iterable

from services.realtime.frames import EncodedFrame, FrameCache, tick, ticks_per_second
from services.realtime.hub import Message, channel_of
from services.realtime.protocol import batch_frame

log = logging.getLogger(__name__)

DROPPABLE_CHANNELS = frozenset({"iot"})
LAZY_CHANNELS = frozenset({"system"})   # once-a-second stats: a frame of only these waits for the socket's phase
FOLD_AT = 64               # deliveries kept as they came; past that they are folded (a socket that takes no frames)


def unkeyed(messages: list[Message]) -> int:
    """Messages without a coalescing key (the hub counts them once per publish: services.realtime.hub.Delivery)."""
    count = getattr(messages, "unkeyed", None)
    return sum(1 for m in messages if m.key is None) if count is None else count


class Coalesced:
    """Deliveries coalesced: the keyed messages by key (latest wins, moved to the end), the newest points,
    every reliable message; `dropped` points over the cap and `merged` keyed messages replaced."""

    def __init__(self, max_points: int):
        self.keyed: OrderedDict = OrderedDict()
        self.points: deque = deque(maxlen=max_points)
        self.reliable: list[Message] = []
        self.dropped = self.merged = 0

    def add(self, deliveries: Iterable[tuple[str, list[Message]]]) -> "Coalesced":
        for channel, messages in deliveries:
            for m in messages:
                if m.key is not None:
                    if self.keyed.pop((channel, m.key), None) is not None:
                        self.merged += 1
                    self.keyed[(channel, m.key)] = m
                elif channel in DROPPABLE_CHANNELS:
                    if len(self.points) == self.points.maxlen:
                        self.dropped += 1
                    self.points.append(m)
                else:
                    self.reliable.append(m)
        return self

    def deliveries(self) -> list[tuple[str, list[Message]]]:
        """The same content as deliveries again (to fold more into it, or to coalesce it with later ones)."""
        return [(channel, [m]) for (channel, _), m in self.keyed.items()] + \
            [(next(iter(DROPPABLE_CHANNELS)), list(self.points)), ("", self.reliable)]

    def frame_text(self, seq: int) -> str:
        return batch_frame(seq, [m.json for m in (*self.keyed.values(), *self.points, *self.reliable)], self.dropped)


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
        self._inputs: list[tuple[str, list[Message]]] = []   # deliveries since the last frame, as they came
        self._folded: Coalesced | None = None     # what was folded (then the frame is this socket's own)
        self._points = self._reliable = 0         # points and reliable messages waiting
        self._direct: deque = deque()
        self._resync: str | None = None   # "wanted" -> "building" -> None (done), or "unavailable" (deltas next)
        self.seq = 0
        self.pending_since = 0.0            # when what waits now began to wait
        self.last_frame_at = 0.0
        self.phase: int | None = None       # set by the socket loop: the tick (mod one second) of lazy frames
        self._urgent = False                # something not lazy waits
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
            if not self._inputs and self._folded is None:
                self.pending_since = self.clock()
            self._inputs.append((channel, messages))
            self._urgent = self._urgent or channel not in LAZY_CHANNELS
            if channel in DROPPABLE_CHANNELS:
                self._points += len(messages)
            else:
                self._reliable += unkeyed(messages)
            if len(self._inputs) > FOLD_AT:
                self._fold()
            newly_over = self._reliable > self.max_reliable and not self.overflowed
            if newly_over:
                self.overflowed = True
        if newly_over:
            self._ready()           # frames wait for their tick; an overflow closes the socket now

    def _fold(self) -> None:
        folded = Coalesced(self.max_points)
        if self._folded is not None:
            folded.add(self._folded.deliveries())
            folded.dropped, folded.merged = self._folded.dropped, self._folded.merged
        self._folded = folded.add(self._inputs)
        self._inputs = []

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
        return bool(self._inputs) or self._folded is not None

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
                if now >= self._due(now) and (self._urgent or self._phase_due(now)):
                    stalled = now - self.pending_since > self.stall_seconds     # waiting, not idle, that long
                    dropped = self._points > self.max_points
                    if stalled and dropped and self.snapshot is not None and self._resync is None:
                        self._resync = "wanted"
                    else:
                        self._resync = None
                        out.append(self._take_frame(now))
            return out

    def _phase_due(self, now: float) -> bool:
        """A frame of lazy messages only (a `system` socket's stats) goes on this socket's own tick of
        the second: the sockets that show nothing else (idle tabs) are spread over the ticks instead of
        all writing on the one after each system_update."""
        if self.phase is None or self.interval <= 0:
            return True
        return tick(now, self.interval) % ticks_per_second(self.interval) == self.phase

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
            self._fold()                    # keep only the alerts (this socket's own frame from now)
            self._folded.keyed.clear()
            self._folded.points.clear()
            self._folded.dropped = 0
            self._points = 0
            self.resyncs += 1
            self._resync = None
        self._ready()

    def _take_frame(self, now: float) -> EncodedFrame:
        self.seq = max(self.seq + 1, tick(now, self.interval) if self.interval > 0 else 0)
        seq, inputs = self.seq, self._inputs
        if self._folded is None:            # the same deliveries on the same tick make the same frame: share it
            key = (seq, *((channel, id(delivered)) for channel, delivered in inputs))
            frame = self.frames.get(key, inputs, lambda: self._encoded(Coalesced(self.max_points).add(inputs), seq))
        else:
            self._fold()
            frame = self._encoded(self._folded, seq)
        self.points_dropped_total += frame.dropped
        self.messages_merged += frame.merged
        self._inputs, self._folded = [], None
        self._points = self._reliable = 0
        self._urgent = False
        self.last_frame_at = now
        self.frames_sent += 1
        return frame

    @staticmethod
    def _encoded(coalesced: Coalesced, seq: int) -> EncodedFrame:
        return EncodedFrame(coalesced.frame_text(seq), coalesced.dropped, coalesced.merged)
