"""Durable admission of events into the Redis Stream: what `202 Accepted` means in distributed mode.

One Lua script per call does, atomically: refuse the whole call if the stream's backlog would pass
STREAM_MAX_BACKLOG (the caller answers 503, nothing is half-added); skip event ids admitted in the
last IDEMPOTENCY_SECONDS (a retried post is acknowledged, not queued twice); XADD the rest, one
entry per event (field `e`, the event as JSON). When the call returns, the events are in Redis;
if Redis cannot be reached the caller gets `IngestUnavailable` and must not claim success.

The stream is never trimmed by producers (MAXLEN would silently drop events nobody has processed):
the worker holding the leader lease trims below what the consumer group has finished with.
"""
from __future__ import annotations

import json
import time

import redis

from services.ingest import IngestUnavailable
from services.redis_keys import RedisKeys

ADMIT = """
local n = (#ARGV - 2) / 2
if redis.call('XLEN', KEYS[1]) + n > tonumber(ARGV[1]) then return -1 end
local out = {}
for i = 0, n - 1 do
  local member = ARGV[3 + 2 * i]
  if redis.call('SISMEMBER', KEYS[3], member) == 1 or redis.call('SADD', KEYS[2], member) == 0 then
    out[i + 1] = 0
  else
    redis.call('XADD', KEYS[1], '*', 'e', ARGV[4 + 2 * i])
    out[i + 1] = 1
  end
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return out
"""


class StreamProducer:
    def __init__(self, client: redis.Redis, keys: RedisKeys, max_backlog: int = 1_000_000,
                 idempotency_seconds: float = 600.0, clock=time.time):
        self.redis = client
        self.keys = keys
        self.max_backlog = max_backlog
        self.bucket_seconds = idempotency_seconds   # ids are checked against this bucket and the previous one
        self.clock = clock
        self._admit = client.register_script(ADMIT)
        self.accepted = 0

    def add(self, events: list[dict]) -> tuple[int, int]:
        """Admit raw events (each with its `tenant` set); returns (accepted, duplicates). All or nothing."""
        if not events:
            return 0, 0
        bucket = int(self.clock() // self.bucket_seconds)
        args: list = [self.max_backlog, int(2 * self.bucket_seconds) + 60]
        for event in events:
            args.append(f"{event.get('tenant', 'default')}\n{event.get('event_id')}")
            args.append(json.dumps(event, separators=(",", ":"), allow_nan=False))
        try:
            flags = self._admit(keys=[self.keys.stream, self.keys.seen(bucket), self.keys.seen(bucket - 1)],
                                args=args)
        except redis.RedisError as exc:
            raise IngestUnavailable(f"The event store (Redis) is unavailable: {type(exc).__name__}.") from None
        if flags == -1:
            raise IngestUnavailable(f"The ingest backlog is full ({self.max_backlog:,} events "
                                    f"waiting, STREAM_MAX_BACKLOG); retry shortly.", retry_after=2)
        accepted = sum(flags)
        self.accepted += accepted
        return accepted, len(events) - accepted

    def backlog(self) -> int:
        return int(self.redis.xlen(self.keys.stream))
