"""A leader lease in Redis: exactly one worker at a time does the cluster's singleton jobs.

`refresh()` (called about once a second) keeps the lease if we hold it or takes it if it is free;
the holder's key expires `ttl` seconds after its last refresh, so a dead leader is replaced within
`ttl`. The singleton jobs (computing KPIs, publishing cluster stats, trimming the stream, bridging
the pub/sub ingest channel, running the built-in simulator) are all safe to run twice for a moment
during a hand-over, which is all a lease without fencing can promise.
"""
from __future__ import annotations

import secrets

import redis

REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class Lease:
    def __init__(self, client: redis.Redis, key: str, owner: str, ttl: float = 5.0):
        self.key = key
        self.token = f"{owner}:{secrets.token_hex(4)}"
        self.ttl_ms = int(ttl * 1000)
        self._refresh = client.register_script(REFRESH)
        self._release = client.register_script(RELEASE)
        self.held = False

    def refresh(self) -> bool:
        try:
            self.held = bool(self._refresh(keys=[self.key], args=[self.token, self.ttl_ms]))
        except redis.RedisError:
            self.held = False
        return self.held

    def release(self) -> None:
        if self.held:
            try:
                self._release(keys=[self.key], args=[self.token])
            except redis.RedisError:
                pass
        self.held = False
