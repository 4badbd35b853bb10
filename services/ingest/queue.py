"""The in-process inbound queue and its micro-batching drain.

Sources (simulator, REST) `put` raw events; the single ingest thread calls `next_batch`, which
returns as soon as `max_events` are waiting or `max_wait` seconds after the first event of the
batch arrived, whichever comes first. Scoring a batch of 1,000 costs about what scoring 20 single
events does, so this is where the pipeline gets its throughput.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from services.security.ratelimit import RecentIds


class QueueFull(Exception):
    """The queue is at capacity; nothing of the offered events was accepted."""


class IngestUnavailable(Exception):
    """No event of the call was accepted; retry after `retry_after` seconds. The message says why."""

    def __init__(self, message: str, retry_after: int = 1, reason: str = "unavailable"):
        super().__init__(message)
        self.retry_after = retry_after
        self.reason = reason            # counted on the system channel: queue_full, backlog_full, unavailable


# A micro-batch closes when `max_events` wait, `max_wait` after its first event, or once no more events
# came for BATCH_QUIET seconds. Sources deliver in bursts (the simulator's 50 ms ticks, a POST, a
# stream read): waiting out `max_wait` after a burst that is over only delays it, and made the batches,
# and with them the live frames, come irregularly (a 100 ms frame slot with nothing new: 8.8 frames/s
# at 1,000 sockets). Under a steady flow (saturation) events keep coming and batches fill as before.
BATCH_QUIET = 0.01


class IngestQueue:
    def __init__(self, capacity: int = 200_000):
        self.capacity = capacity
        self._items: deque = deque()
        self._cond = threading.Condition()
        self._arrivals: deque = deque()     # (monotonic time, events) per put, oldest first: the ingest lag
        self.accepted = 0

    def put(self, events: list) -> int:
        """Append all events or none (a caller told 'accepted' must never lose part of a post)."""
        with self._cond:
            if len(self._items) + len(events) > self.capacity:
                raise QueueFull(f"ingest queue full ({self.capacity} events)")
            self._items.extend(events)
            if events:
                self._arrivals.append((time.monotonic(), len(events)))
            self.accepted += len(events)
            self._cond.notify()
        return len(events)

    def __len__(self) -> int:
        return len(self._items)

    def oldest_age(self) -> float:
        """Seconds the oldest event still waiting has been in the queue (0 when it is empty)."""
        with self._cond:
            return time.monotonic() - self._arrivals[0][0] if self._arrivals else 0.0

    def _taken(self, count: int) -> None:
        while count and self._arrivals:
            at, n = self._arrivals[0]
            if n <= count:
                self._arrivals.popleft()
                count -= n
            else:
                self._arrivals[0] = (at, n - count)
                count = 0

    def next_batch(self, max_events: int, max_wait: float, stop: threading.Event | None = None,
                   idle_timeout: float = 0.5) -> list:
        """Block until a micro-batch is ready; [] after `idle_timeout` with nothing (lets callers check `stop`)."""
        with self._cond:
            if not self._items:
                self._cond.wait(idle_timeout)
                if not self._items:
                    return []
            deadline = time.monotonic() + max_wait
            while len(self._items) < max_events and not (stop and stop.is_set()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                waiting = len(self._items)
                self._cond.wait(min(remaining, BATCH_QUIET))
                if len(self._items) == waiting:     # nothing more came: the burst is over, go
                    break
            count = min(max_events, len(self._items))
            self._taken(count)
            return [self._items.popleft() for _ in range(count)]


class QueueIngest:
    """Admission into the in-process queue, with the same contract as the Redis StreamProducer.

    `add` de-duplicates by (tenant, event_id) against the last ids seen in this process and puts
    the rest on the queue all or nothing; a full queue raises IngestUnavailable (the API's 503).
    """

    def __init__(self, queue: IngestQueue, recent_ids: RecentIds | None = None):
        self.queue = queue
        self.recent_ids = recent_ids or RecentIds()

    def add(self, events: list[dict]) -> tuple[int, int]:
        ids = [(e.get("tenant", "default"), e.get("event_id")) for e in events]
        fresh = self.recent_ids.split_new(ids)
        queued = [e for e, new in zip(events, fresh) if new]
        try:
            if queued:
                self.queue.put(queued)
        except QueueFull:
            self.recent_ids.forget([i for i, new in zip(ids, fresh) if new])
            raise IngestUnavailable("The ingest queue is full; retry shortly.", reason="queue_full") from None
        return len(queued), len(events) - len(queued)
