"""Durable admission of events into the Redis Stream: what `202 Accepted` means in distributed mode.

One Lua script per call does, atomically: refuse the whole call if the stream's backlog would pass
STREAM_MAX_BACKLOG (the caller answers 503, nothing is half-added); skip event ids admitted in the
last IDEMPOTENCY_SECONDS (a retried post is acknowledged, not queued twice; the sets hold 12-byte
digests of tenant and id, in two buckets of IDEMPOTENCY_SECONDS each); XADD the rest, one entry per
event (field `e`, the event as compact JSON). When the call returns, the events are in Redis;
if Redis cannot be reached the caller gets `IngestUnavailable` and must not claim success.

The stream is never trimmed by producers (MAXLEN would silently drop events nobody has processed):
the worker holding the leader lease trims below what the consumer group has finished with.
"""
from __future__ import annotations

import hashlib
import time

import orjson
import redis

from services.ingest.queue import IngestUnavailable
from services.redis_keys import RedisKeys

DIGEST_BYTES = 12

# KEYS: stream, ids admitted in this bucket, in the previous bucket.
# ARGV: max backlog, bucket TTL, n, n fixed-width id digests, n JSON payloads joined by "\n" (compact JSON
# never holds a raw newline). Packing keeps it to five arguments per call whatever n is: per-event
# arguments and per-event SISMEMBER/SADD calls cost more than the XADDs themselves.
ADMIT = r"""
local n, width = tonumber(ARGV[3]), %(width)d
if redis.call('XLEN', KEYS[1]) + n > tonumber(ARGV[1]) then return -1 end
local digests, payloads = ARGV[4], ARGV[5]
local members = {}
for i = 1, n do members[i] = string.sub(digests, (i - 1) * width + 1, i * width) end
local function chunked(command, key, list)
  local out = {}
  for first = 1, #list, 1000 do
    local part = {command, key}
    for i = first, math.min(first + 999, #list) do part[#part + 1] = list[i] end
    local reply = redis.call(unpack(part))
    if type(reply) == 'table' then for _, v in ipairs(reply) do out[#out + 1] = v end end
  end
  return out
end
local before = chunked('SMISMEMBER', KEYS[3], members)
local now = chunked('SMISMEMBER', KEYS[2], members)
local out, fresh, seen, pos = {}, {}, {}, 1
for i = 1, n do
  local stop = string.find(payloads, "\n", pos, true) or (#payloads + 1)
  local m = members[i]
  if before[i] == 1 or now[i] == 1 or seen[m] then
    out[i] = 0
  else
    seen[m] = true
    fresh[#fresh + 1] = m
    redis.call('XADD', KEYS[1], '*', 'e', string.sub(payloads, pos, stop - 1))
    out[i] = 1
  end
  pos = stop + 1
end
if #fresh > 0 then chunked('SADD', KEYS[2], fresh) end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return out
""" % {"width": DIGEST_BYTES}


def id_digest(tenant: str, event_id: str) -> bytes:
    """A fixed-width fingerprint of (tenant, event id): what the de-duplication sets hold (12 bytes,
    however long the id; a collision among 10^9 ids has odds of about 10^-11)."""
    return hashlib.blake2b(f"{tenant}\0{event_id}".encode(), digest_size=DIGEST_BYTES).digest()


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
        digests = b"".join(id_digest(e.get("tenant", "default"), str(e.get("event_id"))) for e in events)
        payloads = b"\n".join(orjson.dumps(e) for e in events)
        try:
            flags = self._admit(keys=[self.keys.stream, self.keys.seen(bucket), self.keys.seen(bucket - 1)],
                                args=[self.max_backlog, int(2 * self.bucket_seconds) + 60, len(events), digests,
                                      payloads])
        except redis.RedisError as exc:
            raise IngestUnavailable(f"The event store (Redis) is unavailable: {type(exc).__name__}.") from None
        if flags == -1:
            raise IngestUnavailable(f"The ingest backlog is full ({self.max_backlog:,} events "
                                    f"waiting, STREAM_MAX_BACKLOG); retry shortly.", retry_after=2,
                                    reason="backlog_full")
        accepted = sum(flags)
        self.accepted += accepted
        return accepted, len(events) - accepted
