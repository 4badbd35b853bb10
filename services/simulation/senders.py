"""Where the command-line producers (simulator, replay) send events: over REST or straight into Redis.

Both senders are idempotent-safe: a batch refused for a passing reason (429 rate limit, 503 queue
full or Redis away, a dropped connection) is retried with the same event ids after the delay the
server asked for, so retries never double-count and nothing the producer made is skipped. Any
other refusal (a bad key, an invalid event) stops the producer with the server's message.
"""
from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request


class SendError(Exception):
    """The events were refused for a reason retrying will not fix."""


def post_events(url: str, api_key: str, events: list[dict], timeout: float = 10.0) -> tuple[int, dict, dict]:
    """POST a batch to /api/v1/iot; (status, JSON body, headers). Stdlib only, so producers need nothing else."""
    request = urllib.request.Request(url.rstrip("/") + "/api/v1/iot", data=json.dumps(events).encode(),
                                     headers={"Content-Type": "application/json", "X-API-Key": api_key},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body), dict(exc.headers)
        except ValueError:
            return exc.code, {"error": body.decode(errors="replace")[:200]}, dict(exc.headers)


class RestSender:
    def __init__(self, url: str, api_key: str, max_wait: float = 300.0, sleep=time.sleep):
        self.url, self.api_key, self.max_wait, self.sleep = url, api_key, max_wait, sleep

    def __call__(self, events: list[dict]) -> tuple[int, int]:
        """(accepted, duplicates) once the server took the batch."""
        waited = 0.0
        while True:
            try:
                status, body, headers = post_events(self.url, self.api_key, events)
            except OSError as exc:          # refused or reset: the server may be restarting
                status, body, headers = 0, {"error": str(exc)}, {}
            if status == 202:
                return body.get("accepted", 0), body.get("duplicates", 0)
            if status not in (0, 429, 503) or waited >= self.max_wait:
                raise SendError(f"post failed ({status}): {body.get('error')}")
            delay = float(headers.get("Retry-After") or 1)
            print(f"server busy ({status or 'unreachable'}): {body.get('error')}; retrying in {delay:g} s",
                  file=sys.stderr)
            self.sleep(delay)
            waited += delay


class RedisSender:
    """Admits events into the stream directly (the producer is trusted: it has the Redis credentials)."""

    def __init__(self, url: str, max_wait: float = 300.0, sleep=time.sleep):
        from services.config import Config
        from services.redis_keys import RedisKeys, connect
        from services.ingest.stream_producer import StreamProducer
        config = Config.from_env()     # REDIS_STREAM and friends name the keys, as for the server
        self.producer = StreamProducer(connect(url), RedisKeys.from_config(config), config.stream_max_backlog,
                                       config.idempotency_seconds)
        self.max_wait, self.sleep = max_wait, sleep

    def __call__(self, events: list[dict]) -> tuple[int, int]:
        from services.ingest.queue import IngestUnavailable
        waited = 0.0
        while True:
            try:
                return self.producer.add(events)
            except IngestUnavailable as exc:
                if waited >= self.max_wait:
                    raise SendError(str(exc)) from None
                print(f"{exc} Retrying in {exc.retry_after} s", file=sys.stderr)
                self.sleep(exc.retry_after)
                waited += exc.retry_after


def add_target_arguments(parser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="server base URL, e.g. http://127.0.0.1:8050 (with --api-key)")
    target.add_argument("--redis", metavar="REDIS_URL", help="write to the Redis stream directly, e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--api-key", help="a key from `python -m services.security.apikeys create` (with --url)")
    parser.add_argument("--tenant", default="default", help="tenant of the events (with --redis; over REST the key decides)")


def sender_from(args, parser):
    if args.url:
        if not args.api_key:
            parser.error("--url needs --api-key")
        return RestSender(args.url, args.api_key)
    return RedisSender(args.redis)
