"""The hub on Redis pub/sub: what lets several web processes show the same live stream.

`publish` sends one Redis message per micro-batch and topic (the batch's messages, already JSON,
wrapped in a JSON array) to channel `<prefix><tenant>:<channel>`. Each process runs one relay
thread that pattern-subscribes to `<prefix>*` and hands what arrives to its local subscribers
through an InMemoryHub, so WebSocket connections never talk to Redis themselves. When Redis goes
away, publishing is counted and dropped, the relay reconnects with backoff, and `connected` says
which state we are in. Redis also disconnects a subscriber that reads too slowly (the pubsub
`client-output-buffer-limit`); the relay then simply reconnects. Either way `generation` goes up
by one per subscription, which tells each connection that it may have missed messages and must
be resynchronised with a snapshot (services.web.socket).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Iterable

import redis

from services.realtime.hub import Hub, InMemoryHub, Message, Subscription

log = logging.getLogger(__name__)
DEFAULT_PREFIX = "pulse:hub:"


class RedisHub(Hub):
    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX):
        self.url = url
        self.prefix = prefix
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.local = InMemoryHub()
        self.connected = False
        self.publish_errors = 0
        self.relayed = 0
        self.generation = 0       # +1 per (re)subscription: messages may have been missed in between
        self.starting = True      # until the relay's first subscription is made or first fails
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pubsub = None

    # -- Hub interface -----------------------------------------------------------------------
    def publish(self, topic_name: str, messages: list[Message]) -> None:
        if not messages:
            return
        payload = json.dumps([[m.type, m.key, m.json, m.scope] for m in messages], separators=(",", ":"))
        try:
            self.redis.publish(self.prefix + topic_name, payload)
        except redis.RedisError as exc:
            self.publish_errors += 1
            if self.publish_errors == 1 or self.publish_errors % 100 == 0:
                log.warning("hub publish to Redis failed (%d so far): %s", self.publish_errors, exc)

    def subscribe(self, subscription: Subscription, topics: Iterable[str]) -> None:
        self.local.subscribe(subscription, topics)

    def unsubscribe(self, subscription: Subscription, topics: Iterable[str] | None = None) -> None:
        self.local.unsubscribe(subscription, topics)

    def subscriber_count(self) -> int:
        return self.local.subscriber_count()

    def status(self) -> dict:
        return {"kind": "redis", "connected": self.connected, "publish_errors": self.publish_errors,
                "relayed": self.relayed, "generation": self.generation, "starting": self.starting}

    # -- relay -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._relay, name="redis-hub-relay", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        pubsub = self._pubsub
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:
                pass
        if self._thread is not None:
            self._thread.join(timeout=3)

    def wait_connected(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.connected and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.connected

    def _relay(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                self._pubsub.psubscribe(self.prefix + "*")
                self.generation += 1
                self.connected, self.starting, backoff = True, False, 0.2
                log.info("hub relay subscribed to %s*", self.prefix)
                while not self._stop.is_set():
                    item = self._pubsub.get_message(timeout=1.0)
                    if item is not None and item["type"] == "pmessage":
                        self._deliver(item)
            except Exception as exc:   # RedisError, OSError, or the parser tripping over a closed socket
                if self._stop.is_set():
                    break
                if self.connected:
                    log.warning("hub relay lost Redis (%s); reconnecting", exc)
                self.connected = self.starting = False
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        self.connected = False

    def _deliver(self, item: dict) -> None:
        channel = item["channel"].decode() if isinstance(item["channel"], bytes) else item["channel"]
        try:
            messages = [Message(*m) for m in json.loads(item["data"])]
        except (ValueError, TypeError):
            log.warning("hub relay ignored a malformed message on %s", channel)
            return
        self.relayed += 1
        self.local.publish(channel[len(self.prefix):], messages)
