"""Encode once, send many: a batch frame shared by every socket that would get the same one.

Every connection's outbox takes its frame on one process-wide clock (`tick`: the interval's grid), so
sockets with the same subscriptions take the same hub messages at the same tick. Their frames are
then byte-identical, and `FrameCache` builds each once: the JSON text, and the WebSocket frame on the
wire (header and payload; permessage-deflate'd once for every socket that negotiated it, which works
because the server compresses each message on its own, without context takeover). A sender writes
the cached bytes as they are: per socket and frame that is one `sendall`, not a join, an encode and a
deflate.

Pure Python (zlib only): the socket layer (services.web.socket) decides how the bytes are written.
"""
from __future__ import annotations

import math
import struct
import threading
import time
import zlib
from typing import Callable, Hashable

OPCODE_TEXT = 0x1
FIN, RSV1 = 0x80, 0x40
DEFLATE_TAIL = b"\x00\x00\xff\xff"      # what RFC 7692 strips from each compressed message
DEFLATE_LEVEL = 6


def tick(now: float, interval: float) -> int:
    """The number of the frame clock's tick at `now` (a monotonic time)."""
    return math.floor(now / interval)


def ticks_per_second(interval: float) -> int:
    """How many ticks of the frame clock make a second: the phases that per-second work is spread over."""
    return max(1, round(1.0 / interval)) if interval > 0 else 1


def wire_frame(payload: bytes, compressed: bool = False, opcode: int = OPCODE_TEXT) -> bytes:
    """One whole, unmasked server-to-client WebSocket frame (RFC 6455 5.2): the same bytes suit every socket."""
    first = FIN | (RSV1 if compressed else 0) | opcode
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


def deflate_message(data: bytes) -> bytes:
    """A message compressed on its own (RFC 7692 7.2.1: no context taken over from earlier messages)."""
    compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return body[:-4] if body.endswith(DEFLATE_TAIL) else body


class EncodedFrame:
    """A frame's text and, built on first use and then kept, its bytes on the wire, plain or deflated;
    `dropped` and `merged`: what coalescing left out of it (counted by every socket that sends it)."""

    __slots__ = ("text", "dropped", "merged", "_plain", "_deflated", "_lock")

    def __init__(self, text: str, dropped: int = 0, merged: int = 0):
        self.text, self.dropped, self.merged = text, dropped, merged
        self._plain: bytes | None = None
        self._deflated: bytes | None = None
        self._lock = threading.Lock()

    def wire(self, deflated: bool) -> bytes:
        with self._lock:           # many senders ask at once: one of them encodes, the others wait for it
            if deflated:
                if self._deflated is None:
                    self._deflated = wire_frame(deflate_message(self.text.encode()), compressed=True)
                return self._deflated
            if self._plain is None:
                self._plain = wire_frame(self.text.encode())
            return self._plain


class FrameCache:
    """The frames of the current tick by content key. A key names the inputs a frame was built from
    (the tick, and the identity of each hub message list in order); the cache keeps those lists alive
    with the frame, so an identity cannot be reused by another list while its key is in the cache.
    Entries of earlier ticks are dropped as soon as a later tick asks."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tick: int | None = None
        self._frames: dict[tuple, tuple[EncodedFrame, object]] = {}
        self.built = 0          # frames encoded
        self.shared = 0         # frames handed out again from the cache

    def get(self, key: tuple, inputs, build: Callable[[], EncodedFrame]) -> EncodedFrame:
        """The frame for `key` (its first element the tick), built by `build` if this tick has not yet;
        `inputs`: the objects whose identities the key names, kept with the frame."""
        with self._lock:
            if self._tick is None or key[0] > self._tick:
                self._tick, self._frames = key[0], {}
            found = self._frames.get(key) if key[0] == self._tick else None
            if found is not None:
                self.shared += 1
                return found[0]
        frame = build()                     # outside the lock: other keys are built meanwhile
        with self._lock:
            self.built += 1
            if key[0] == self._tick:
                frame = self._frames.setdefault(key, (frame, inputs))[0]
            return frame

    def stats(self) -> dict:
        with self._lock:
            return {"frames_encoded": self.built, "frames_shared": self.shared}


class RecentTexts:
    """A text (a snapshot) built at most once per `ttl` seconds per key, for every socket that asks
    meanwhile: after a stall or a hub resync every socket of a tenant wants the same snapshot at once,
    and building it reads the database."""

    def __init__(self, ttl: float = 0.25, clock=time.monotonic):
        self.ttl, self.clock = ttl, clock
        self._lock = threading.Lock()
        self._texts: dict[Hashable, tuple[float, str]] = {}
        self.built = self.shared = 0

    def get(self, key: Hashable, build: Callable[[], str]) -> str:
        now = self.clock()
        with self._lock:
            found = self._texts.get(key)
            if found is not None and now - found[0] < self.ttl:
                self.shared += 1
                return found[1]
        text = build()                      # outside the lock (it reads the database); may raise
        with self._lock:
            self.built += 1
            self._texts = {k: v for k, v in self._texts.items() if now - v[0] < self.ttl}
            self._texts[key] = (now, text)
        return text
