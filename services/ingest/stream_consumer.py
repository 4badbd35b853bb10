"""Reading the event stream as one consumer of the workers' group: micro-batches, reclaim, attempts.

`read` returns a micro-batch the way the in-process queue does (as soon as `max_events` are there,
`max_wait` after the first one, or when a poll finds nothing new), from XREADGROUP. Every `claim_check` seconds it first takes over
entries another consumer read but did not acknowledge for `claim_idle` seconds (XAUTOCLAIM): that
is how the events of a worker killed between read and ack get processed. Acknowledging is not done
here but in the batch's atomic commit (services/pipeline/redis_state.py).

Entries are decoded and checked here: an entry that is not JSON or fails the event schema can
never succeed, so it goes to the dead-letter stream at once with its reason. An event the model
fails on gets `max_attempts` deliveries (counted in Redis, so across workers) before it does.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import orjson
import redis

from services.ingest.events import EventError, validate_event
from services.ingest.queue import BATCH_QUIET
from services.redis_keys import RedisKeys


@dataclass
class DeadEntry:
    entry_id: str
    reason: str                 # stored with the entry: what was wrong, in full
    payload: str
    attempts: int = 1
    label: str = "dead"         # the short reason events are counted by in stats.rejected


@dataclass
class Entry:
    id: str
    payload: bytes | None
    reclaimed: bool = False
    read_at: float = 0.0        # monotonic time just before the read that delivered it


def _entries(raw, reclaimed: bool, read_at: float) -> list[Entry]:
    return [Entry(i.decode(), (fields or {}).get(b"e"), reclaimed, read_at) for i, fields in raw]


def _text(entry: Entry) -> str:
    return entry.payload.decode("utf-8", "replace")[:10_000] if entry.payload is not None else ""


def _field_e(fields: list | None) -> bytes | None:
    if fields and len(fields) == 2 and fields[0] == b"e":
        return fields[1]
    pairs = dict(zip(fields[::2], fields[1::2])) if fields else {}
    return pairs.get(b"e")


class StreamConsumer:
    def __init__(self, client: redis.Redis, keys: RedisKeys, name: str, claim_idle: float = 30.0,
                 max_attempts: int = 3):
        self.redis = client
        self.keys = keys
        self.name = name
        self.claim_idle_ms = max(1, int(claim_idle * 1000))
        self.claim_check = min(max(claim_idle / 2, 0.05), 5.0)
        self.max_attempts = max_attempts
        self._next_claim = 0.0
        # A client of our own for XREADGROUP: its reply is parsed by hand (see _read_new).
        self._raw = redis.Redis(connection_pool=client.connection_pool)
        self._raw.set_response_callback("XREADGROUP", lambda response, **options: response)
        self._claim_cursor = "0-0"
        self.reclaimed = 0

    def ensure_group(self) -> None:
        """Create the group (reading the stream from its start) unless it exists; idempotent."""
        try:
            self.redis.xgroup_create(self.keys.stream, self.keys.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, max_events: int, max_wait: float, stop: threading.Event, block: float = 0.25) -> list[Entry]:
        started = time.monotonic()    # no entry of the batch was delivered before this
        entries: list[Entry] = []
        if started >= self._next_claim:
            entries = self._autoclaim(max_events, started)
            self._next_claim = time.monotonic() + self.claim_check
        if len(entries) < max_events:
            entries += self._read_new(max_events - len(entries), started, block=None if entries else block)
        if not entries:
            return entries
        # Micro-batch: top up for at most max_wait, polling every BATCH_QUIET seconds rather than once
        # per event, until a poll finds nothing new (services.ingest.queue.BATCH_QUIET: why).
        deadline = time.monotonic() + max_wait
        while len(entries) < max_events and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            stop.wait(min(remaining, BATCH_QUIET))
            more = self._read_new(max_events - len(entries), started)
            if not more:
                break
            entries += more
        return entries

    def _read_new(self, count: int, started: float, block: float | None = None) -> list[Entry]:
        args = ["XREADGROUP", "GROUP", self.keys.group, self.name, "COUNT", count]
        if block:
            args += ["BLOCK", max(1, int(block * 1000))]
        reply = self._raw.execute_command(*args, "STREAMS", self.keys.stream, ">")
        if not reply:
            return []
        # Raw reply: [[stream, [[id, [field, value, ...]], ...]]] (RESP2) or {stream: [...]} (RESP3).
        # Parsed here rather than by redis-py's generic stream parser, which builds a dict per entry.
        items = next(iter(reply.values())) if isinstance(reply, dict) else reply[0][1]
        return [Entry(i.decode(), _field_e(fields), False, started) for i, fields in items]

    def fresh(self, entries: list[Entry]) -> bool:
        """True while no other consumer can have claimed these entries: less than half of
        CLAIM_IDLE_SECONDS since they were read (XAUTOCLAIM only takes entries idle that long). Then
        the commit may acknowledge without first checking that each entry is still ours."""
        oldest = min((e.read_at for e in entries), default=time.monotonic())
        return time.monotonic() - oldest < self.claim_idle_ms / 2000

    def _autoclaim(self, count: int, started: float) -> list[Entry]:
        cursor, claimed, _deleted = self.redis.xautoclaim(self.keys.stream, self.keys.group, self.name,
                                                          self.claim_idle_ms, self._claim_cursor, count=count)
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else cursor
        found = [e for e in _entries(claimed, True, started) if e.payload is not None]
        self.reclaimed += len(found)
        return found

    def decode(self, entries: list[Entry]) -> tuple[list[dict], list[DeadEntry]]:
        """Checked events (each tagged with `_entry` and `_reclaimed`) and the entries that can never succeed."""
        events, dead = [], []
        for entry in entries:
            try:
                event = validate_event(orjson.loads(entry.payload if entry.payload is not None else b""))
            except EventError as exc:
                dead.append(DeadEntry(entry.id, f"invalid: {exc.field}: {exc.reason}"[:500], _text(entry),
                                      label=f"{exc.field}: {exc.reason}"[:80]))
                continue
            except ValueError as exc:      # not JSON (orjson.JSONDecodeError is a ValueError), or no `e` field
                reason = f"unparseable: {exc}" if entry.payload is not None else "unparseable: the entry has no 'e' field"
                dead.append(DeadEntry(entry.id, reason[:500], _text(entry), label="event: not JSON"))
                continue
            event["_entry"], event["_reclaimed"] = entry.id, entry.reclaimed
            events.append(event)
        return events, dead

    def failed(self, failures: list[tuple[dict, Exception]]) -> list[DeadEntry]:
        """Count one more failed attempt for each event; those out of attempts become dead letters."""
        pipe = self.redis.pipeline(transaction=False)
        for event, _ in failures:
            pipe.hincrby(self.keys.attempts, event["_entry"], 1)
        counts = pipe.execute()
        dead = []
        for (event, exc), attempts in zip(failures, counts):
            if attempts >= self.max_attempts:
                payload = {k: v for k, v in event.items() if not k.startswith("_")}
                dead.append(DeadEntry(event["_entry"], f"model error: {type(exc).__name__}: {exc}"[:500],
                                      json.dumps(payload), attempts, label=f"model error: {type(exc).__name__}"))
        return dead

    def backlog(self) -> dict:
        """Stream length, entries not yet delivered (lag) and delivered but unacknowledged (pending)."""
        info = self.redis.xinfo_stream(self.keys.stream)
        groups = {g["name"].decode(): g for g in self.redis.xinfo_groups(self.keys.stream)}
        group = groups.get(self.keys.group, {})
        return {"stream_length": int(info["length"]), "entries_added": int(info.get("entries-added") or 0),
                "lag": int(group.get("lag") or 0),
                "pending": int(group.get("pending") or 0),
                "dead_letters": int(self.redis.xlen(self.keys.dead_letter))}

    def trim(self) -> int:
        """Drop entries every group has finished with (below each group's oldest pending and last
        delivered id). Never MAXLEN: that would drop events nobody has processed yet."""
        floor = None
        for group in self.redis.xinfo_groups(self.keys.stream):
            name = group["name"]
            candidates = [group["last-delivered-id"]]
            if group.get("pending"):
                candidates.append(self.redis.xpending(self.keys.stream, name)["min"])
            for c in candidates:
                c = c.decode() if isinstance(c, bytes) else c
                key = tuple(int(x) for x in c.split("-"))
                floor = key if floor is None or key < floor else floor
        if not floor or floor == (0, 0):
            return 0
        return int(self.redis.xtrim(self.keys.stream, minid=f"{floor[0]}-{floor[1]}", approximate=True))
