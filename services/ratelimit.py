"""Small in-process helpers for the ingest API: a token bucket per key and a window of recent ids."""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict


class TokenBuckets:
    """`rate` tokens per second per key, bursts up to `burst`. take() answers (ok, retry_after_s)."""

    def __init__(self, rate: float, burst: float | None = None, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst or rate, clock
        self._buckets: dict = {}
        self._lock = threading.Lock()

    def take(self, key, amount: float = 1.0) -> tuple[bool, int]:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if amount <= tokens:
                self._buckets[key] = (tokens - amount, now)
                return True, 0
            self._buckets[key] = (tokens, now)
            needed = min(amount, self.burst) - tokens
            return False, max(1, math.ceil(needed / self.rate))


class RecentIds:
    """The last `capacity` ids seen, for idempotent ingestion (a retried post is not counted twice)."""

    def __init__(self, capacity: int = 200_000):
        self.capacity = capacity
        self._ids: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def split_new(self, ids: list) -> list[bool]:
        """For each id, True if it was not seen before (and remember it)."""
        out = []
        with self._lock:
            for i in ids:
                seen = i in self._ids
                if not seen:
                    self._ids[i] = None
                out.append(not seen)
            while len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
        return out

    def forget(self, ids: list) -> None:
        with self._lock:
            for i in ids:
                self._ids.pop(i, None)
