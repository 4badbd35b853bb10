"""Every Redis key and channel Pulseboard uses, named in one place (docs/PROTOCOL.md section 4).

The stream, ingest channel, dead-letter stream and consumer group are settings of their own
(REDIS_STREAM, REDIS_INGEST_CHANNEL, REDIS_DEAD_LETTER, REDIS_GROUP) because producers outside
Pulseboard write to them; everything else hangs off REDIS_PREFIX, so two deployments can share one
Redis by choosing different prefixes.
"""
from __future__ import annotations

from dataclasses import dataclass

import redis

from services.config import Config


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = Config.redis_prefix
    stream: str = "pulse:events"
    ingest_channel: str = "pulse:ingest"
    dead_letter: str = "pulse:events:dead"
    group: str = "pulse-workers"

    @classmethod
    def from_config(cls, config: Config) -> "RedisKeys":
        return cls(config.redis_prefix, config.redis_stream, config.redis_ingest_channel,
                   config.redis_dead_letter, config.redis_group)

    @property
    def hub(self) -> str:
        """Prefix of the fan-out channels: <hub><tenant>:<channel>."""
        return f"{self.prefix}hub:"

    def seen(self, bucket: int) -> str:
        """Event ids admitted in one idempotency bucket (a set of "<tenant>\\n<event_id>")."""
        return f"{self.prefix}seen:{bucket}"

    @property
    def attempts(self) -> str:
        """Hash: stream entry id -> failed processing attempts."""
        return f"{self.prefix}events:attempts"

    def tenant(self, tenant: str, what: str) -> str:
        """Per-tenant state: kpi (per-second buckets), kpis (latest), points, health."""
        return f"{self.prefix}t:{tenant}:{what}"

    @property
    def tenants(self) -> str:
        return f"{self.prefix}tenants"

    def model(self, name: str = "retail") -> str:
        """A shared model's signed blob; `name` is "retail" or "sensor:<type>"."""
        return f"{self.prefix}model:{name}"

    def model_meta(self, name: str = "retail") -> str:
        """JSON: version, fitted_at, fitted_on, worker, bytes of the stored model."""
        return f"{self.prefix}model:{name}:meta"

    def model_seq(self, name: str = "retail") -> str:
        return f"{self.prefix}model:{name}:seq"

    def model_lock(self, name: str = "retail") -> str:
        return f"{self.prefix}model:{name}:lock"

    @property
    def leader(self) -> str:
        return f"{self.prefix}leader"

    def stats(self, role: str) -> str:
        """Hash: process name -> its latest stats (role: workers or web)."""
        return f"{self.prefix}stats:{role}"

    @property
    def system(self) -> str:
        return f"{self.prefix}system"

    def ticket(self, digest: str) -> str:
        """String: a WebSocket ticket's owner, by the ticket's SHA-256 (expires with the ticket)."""
        return f"{self.prefix}ticket:{digest}"

    def rate(self, name: str) -> str:
        return f"{self.prefix}rate:{name}"


def connect(url: str) -> redis.Redis:
    """A client with timeouts, so no thread ever hangs on a dead Redis."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=15)
