"""Reading the event stream as one consumer of the workers' group: micro-batches, reclaim, attempts.

`read` returns a micro-batch the way the in-process queue does (as soon as `max_events` are there,
or `max_wait` after the first one), from XREADGROUP. Every `claim_check` seconds it first takes over
entries another consumer read but did not acknowledge for `claim_idle` seconds (XAUTOCLAIM): that
is how the events of a worker killed between read and ack get processed. Acknowledging is not done
here but in the batch's atomic commit (services/redis_state.py).

Entries are decoded and checked here: an entry that is not JSON or fails the event schema can
never succeed, so it goes to the dead-letter stream at once with its reason. An event the model
fails on gets `max_attempts` deliveries (counted in Redis, so across workers) before it does.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import redis

from services.events import EventError, validate_event
from services.redis_keys import RedisKeys
from services.redis_state import DeadEntry


@dataclass
class Entry:
    id: str
    payload: bytes | None
    reclaimed: bool = False


def _entries(raw, reclaimed: bool = False) -> list[Entry]:
    return [Entry(i.decode(), (fields or {}).get(b"e"), reclaimed) for i, fields in raw]


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
        entries: list[Entry] = []
        if time.monotonic() >= self._next_claim:
            entries = self._autoclaim(max_events)
            self._next_claim = time.monotonic() + self.claim_check
        if len(entries) < max_events:
            entries += self._read_new(max_events - len(entries), block=None if entries else block)
        if not entries:
            return entries
        # Micro-batch: top up for at most max_wait, polling a few times rather than once per event.
        deadline = time.monotonic() + max_wait
        while len(entries) < max_events and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            stop.wait(min(remaining, 0.01))
            entries += self._read_new(max_events - len(entries))
        return entries

    def _read_new(self, count: int, block: float | None = None) -> list[Entry]:
        reply = self.redis.xreadgroup(self.keys.group, self.name, {self.keys.stream: ">"}, count=count,
                                      block=max(1, int(block * 1000)) if block else None)
        return _entries(reply[0][1]) if reply else []

    def _autoclaim(self, count: int) -> list[Entry]:
        cursor, claimed, _deleted = self.redis.xautoclaim(self.keys.stream, self.keys.group, self.name,
                                                          self.claim_idle_ms, self._claim_cursor, count=count)
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else cursor
        found = [e for e in _entries(claimed, reclaimed=True) if e.payload is not None]
        self.reclaimed += len(found)
        return found

    def decode(self, entries: list[Entry]) -> tuple[list[dict], list[DeadEntry]]:
        """Checked events (each tagged with `_entry` and `_reclaimed`) and the entries that can never succeed."""
        events, dead = [], []
        for entry in entries:
            text = entry.payload.decode("utf-8", "replace") if entry.payload is not None else ""
            try:
                raw = json.loads(text)
                event = validate_event(raw)
            except EventError as exc:
                dead.append(DeadEntry(entry.id, f"invalid: {exc.field}: {exc.reason}"[:500], text[:10_000],
                                      label=f"{exc.field}: {exc.reason}"[:80]))
                continue
            except ValueError as exc:      # not JSON
                dead.append(DeadEntry(entry.id, f"unparseable: {exc}"[:500], text[:10_000], label="event: not JSON"))
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
