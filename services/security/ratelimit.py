"""Helpers for the ingest API: a token bucket per key (in process, or in Redis for many workers) and a window of recent ids."""
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


TOKEN_BUCKET = """
local rate, burst, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local ok = 0
if amount <= tokens then tokens = tokens - amount; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {ok, tostring(tokens)}
"""


class RedisTokenBuckets:
    """The same token bucket kept in Redis, so N web workers share one limit per key (Redis' clock)."""

    def __init__(self, client, key_of, rate: float, burst: float | None = None):
        self.rate, self.burst = rate, burst or rate
        self.key_of = key_of            # bucket name -> Redis key
        self._script = client.register_script(TOKEN_BUCKET)

    def take(self, key, amount: float = 1.0) -> tuple[bool, int]:
        ok, tokens = self._script(keys=[self.key_of(str(key))], args=[self.rate, self.burst, amount])
        if ok:
            return True, 0
        needed = min(amount, self.burst) - float(tokens)
        return False, max(1, math.ceil(needed / self.rate))
