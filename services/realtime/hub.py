"""Publish/subscribe hub between the pipeline and the WebSocket connections.

One interface, two implementations: `InMemoryHub` here for embedded mode, and a Redis one (same
interface) for distributed mode, where every web worker relays Redis messages to its own clients.

What travels is a list of `Message`s per publish: the pipeline publishes once per micro-batch, not
once per event, so fan-out costs O(batches x clients) rather than O(events x clients). Each message
is already JSON-encoded (encoded once, sent to every client as is) and may carry a coalescing `key`:
a later message with the same key replaces an earlier one that has not been sent yet (KPIs, health
per entity), while messages without a key are kept in order (points, alerts).

Topics are "<tenant>:<channel>", so tenants are separated by construction; clients name channels,
and the server maps them to their own tenant's topics.
"""
from __future__ import annotations

import itertools
import logging
import threading
from abc import ABC, abstractmethod
from typing import Callable, Iterable, NamedTuple

log = logging.getLogger(__name__)

CHANNELS = ("iot", "sensors", "alerts", "kpis", "health", "system", "market", "calculations", "notifications")
GLOBAL_CHANNELS = frozenset({"market"})          # the same data for every tenant: one topic, "*:<channel>"
USER_CHANNELS = frozenset({"calculations", "notifications"})   # (also) one topic per user


class Message(NamedTuple):
    type: str
    key: str | None     # coalescing key; None = keep every message
    json: str           # the encoded message, sent to clients verbatim
    scope: str | None = None    # the entity it is about (services.realtime.selection); filtered sockets match it


Deliver = Callable[[str, list[Message]], None]


class Delivery(list):
    """One publish's messages as every subscriber gets them (the same list object: an outbox names a
    frame by it), with the count each outbox would otherwise make per socket."""

    __slots__ = ("unkeyed",)

    def __init__(self, messages):
        super().__init__(messages)
        self.unkeyed = sum(1 for m in self if m.key is None)


def topic(tenant: str, channel: str) -> str:
    return f"{tenant}:{channel}"


def topic_for(tenant: str, channel: str) -> str:
    """The topic a tenant's subscription to `channel` listens to (global channels are shared)."""
    return f"*:{channel}" if channel in GLOBAL_CHANNELS else topic(tenant, channel)


def user_topic(tenant: str, user_id, channel: str) -> str:
    """One user's own topic on a channel (calculation results, personal notifications)."""
    return f"{tenant}:u{user_id}:{channel}"


def topics_for(tenant: str, user_id, channel: str) -> list[str]:
    """Every topic a user's subscription to `channel` listens to."""
    if channel == "calculations":
        return [user_topic(tenant, user_id, channel)]
    if channel in USER_CHANNELS:
        return [topic(tenant, channel), user_topic(tenant, user_id, channel)]
    return [topic_for(tenant, channel)]


def channel_of(topic_name: str) -> str:
    return topic_name.rsplit(":", 1)[-1]


class Subscription:
    """A subscriber's handle: which topics it listens to and where messages go."""

    _ids = itertools.count(1)

    def __init__(self, deliver: Deliver):
        self.id = next(self._ids)
        self.deliver = deliver
        self.topics: set[str] = set()


class Hub(ABC):
    @abstractmethod
    def publish(self, topic_name: str, messages: list[Message]) -> None:
        """Deliver `messages` to every subscriber of the topic. Never blocks on a subscriber."""

    @abstractmethod
    def subscribe(self, subscription: Subscription, topics: Iterable[str]) -> None: ...

    @abstractmethod
    def unsubscribe(self, subscription: Subscription, topics: Iterable[str] | None = None) -> None:
        """Stop delivering the given topics (all of them when None)."""

    def start(self) -> None:
        """Start background work (the Redis relay); the in-process hub has none."""

    def close(self) -> None:
        """Release resources (threads, connections)."""

    def subscriber_count(self) -> int:
        return 0

    def status(self) -> dict:
        """For the system channel: which hub, and whether it is healthy."""
        return {"kind": "memory", "connected": True}


class InMemoryHub(Hub):
    """Hub for one process: publish calls each subscriber's `deliver` directly."""

    def __init__(self):
        self._subscribers: dict[str, dict[int, Subscription]] = {}
        self._lock = threading.Lock()
        self.delivery_errors = 0

    def publish(self, topic_name: str, messages: list[Message]) -> None:
        if not messages:
            return
        with self._lock:
            targets = list(self._subscribers.get(topic_name, {}).values())
        if not isinstance(messages, Delivery):
            messages = Delivery(messages)
        for sub in targets:
            try:
                sub.deliver(topic_name, messages)
            except Exception:  # one broken subscriber must not stop the others or the publisher
                self.delivery_errors += 1
                log.exception("hub delivery to subscription %s failed", sub.id)

    def subscribe(self, subscription: Subscription, topics: Iterable[str]) -> None:
        with self._lock:
            for name in topics:
                self._subscribers.setdefault(name, {})[subscription.id] = subscription
                subscription.topics.add(name)

    def unsubscribe(self, subscription: Subscription, topics: Iterable[str] | None = None) -> None:
        with self._lock:
            for name in list(subscription.topics if topics is None else topics):
                self._subscribers.get(name, {}).pop(subscription.id, None)
                subscription.topics.discard(name)

    def subscriber_count(self) -> int:
        with self._lock:
            return len({sid for subs in self._subscribers.values() for sid in subs})
