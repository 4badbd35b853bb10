"""Fire-and-forget producers: events PUBLISHed on the ingest channel are moved into the stream.

Pub/sub has no persistence or acknowledgement (a message published while no one listens is gone),
which is the contract such producers chose. The worker holding the leader lease subscribes to
`pulse:ingest` and admits each message's events through the same de-duplicating StreamProducer as
the REST API, so from there on they are as durable as any other event. A message that is not JSON,
or an event that fails the schema, goes to the dead-letter stream with the reason, and is counted
in the worker's rejected-by-reason figures under the same labels the stream consumer uses.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Callable

import redis

from services.background import BackgroundThread
from services.ingest.events import EventError, validate_event
from services.ingest.queue import IngestUnavailable
from services.redis_keys import RedisKeys
from services.ingest.stream_producer import StreamProducer

log = logging.getLogger(__name__)


class IngestBridge(BackgroundThread):
    thread_name = "ingest-bridge"

    def __init__(self, client: redis.Redis, keys: RedisKeys, producer: StreamProducer, dead_letter_maxlen: int,
                 count_rejected: Callable[[str], None] = lambda label: None):
        self.redis = client
        self.keys = keys
        self.producer = producer
        self.dead_letter_maxlen = dead_letter_maxlen
        self.count_rejected = count_rejected       # the worker's PipelineStats.count_rejected
        self.received = self.admitted = self.dead = self.lost = 0
        self._init_thread()

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.keys.ingest_channel)
                backoff = 0.2
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and message["type"] == "message":
                        self.handle(message["data"])
                pubsub.close()
            except (redis.RedisError, OSError) as exc:
                log.warning("ingest bridge lost Redis (%s); retrying in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def handle(self, data: bytes) -> None:
        self.received += 1
        text = data.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError as exc:
            self._dead(text, f"unparseable: {exc}", "event: not JSON")
            return
        good = []
        for raw in body if isinstance(body, list) else [body]:
            try:
                event = validate_event(raw)
            except EventError as exc:
                self._dead(json.dumps(raw)[:10_000], f"invalid: {exc.field}: {exc.reason}",
                           f"{exc.field}: {exc.reason}"[:80])
                continue
            good.append(dict(raw, tenant=event["tenant"]))
        while good and not self._stop.is_set():
            try:
                self.admitted += self.producer.add(good)[0]
                return
            except IngestUnavailable as exc:   # backlog full: pub/sub has no retry, so we wait here
                log.warning("ingest bridge waiting: %s", exc)
                self._stop.wait(exc.retry_after)
        self.lost += len(good)

    def _dead(self, payload: str, reason: str, label: str) -> None:
        self.dead += 1
        self.count_rejected(label)
        self.redis.xadd(self.keys.dead_letter, {"id": "pubsub", "reason": reason[:500], "event": payload[:10_000],
                                                "attempts": 1, "failed_at": int(time.time())},
                        maxlen=self.dead_letter_maxlen, approximate=True)
