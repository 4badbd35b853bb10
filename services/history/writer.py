"""The history's background writer and its retention, so keeping history never stalls ingest.

The pipeline thread calls `HistoryWriter.record` with a scored batch: an append under a short lock,
nothing else. The writer thread wakes every FLUSH_SECONDS (or sooner when much is waiting), turns
everything waiting into blocks of raw events (services.history.blocks: one row per minute and profile) and
rollup deltas and writes them in transactions of whole batches, about TRANSACTION_EVENTS events each,
pausing a moment between two: on SQLite the pipeline's own writes (alerts) share the one write lock,
and a long history transaction would make a micro-batch wait for it. If the database is away it keeps what waits
(bounded by `max_pending` events: beyond that the oldest batches are dropped and counted, a history
gap rather than a stalled pipeline) and retries with backoff; any other failure is logged and counted
and the thread carries on.

`HistoryRetention` deletes raw events older than HISTORY_RAW_HOURS and rollups older than
HISTORY_DAYS, a batch of rows per transaction, and every minute merges the small raw blocks of the
minutes just closed (SqlHistoryStore.compact), on its own thread (embedded: the runtime's; distributed:
the leader worker's), with the clock injectable so tests can travel in time.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable

from services.background import BackgroundThread
from services.history.blocks import batch_blocks, rollup_cells
from services.history.rows import RollupDeltas
from services.history.store import HistoryStore
from services.storage.db import one_line, unavailable

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
FLUSH_EVENTS = 20_000            # write sooner than FLUSH_SECONDS when this much waits
BACKOFF_FIRST, BACKOFF_MAX = 0.2, 5.0
TRANSACTION_EVENTS = 20_000      # whole batches per transaction up to about this many events: SQLite's one
GROUP_PAUSE = 0.005              # write lock is held briefly, and let go between transactions
COMPACT_EVERY, COMPACT_AFTER = 60.0, 120.0   # seconds between compactions; a minute closed this long ago


def transactions(batches: list) -> list[list]:
    """Consecutive batches grouped into transactions of at most TRANSACTION_EVENTS events (a bigger
    batch alone), in order."""
    groups, size = [], 0
    for batch in batches:
        if not groups or size + len(batch[1]) > TRANSACTION_EVENTS:
            groups.append([])
            size = 0
        groups[-1].append(batch)
        size += len(batch[1])
    return groups


def settled(cond: threading.Condition, recorded: Callable[[], int], accounted: Callable[[], int],
            timeout: float) -> bool:
    """A writer's flush: wait on `cond` until what was `recorded` when called is `accounted` for
    (written, dropped or failed: both callables read under `cond`); False on timeout."""
    deadline = time.monotonic() + timeout
    with cond:
        target = recorded()
        while accounted() < target:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            cond.wait(min(remaining, 0.1))
    return True


class HistoryWriter(BackgroundThread):
    thread_name = "history-writer"

    def __init__(self, store: HistoryStore, max_pending: int = 500_000, clock: Callable[[], float] = time.time):
        self.store = store
        self.max_pending = max_pending
        self.clock = clock
        self._pending: deque = deque()          # (tenant, events, scores, received)
        self._pending_events = 0
        self._cond = threading.Condition()
        self.recorded = self.written = self.dropped = self.failed = self.errors = 0
        self.last_flush_ms = 0.0
        self.connected = True
        self._urgent = False            # flush(): write what waits now
        self._init_thread()

    def record(self, tenant: str, events: list[dict], scores, received: float | None = None) -> None:
        """Hand over a scored batch (`scores` position for position with `events`; `received`: when it
        was handed over, if not now). Never blocks."""
        if not events:
            return
        with self._cond:
            self._pending.append((tenant, events, scores, self.clock() if received is None else received))
            self._pending_events += len(events)
            self.recorded += len(events)
            while self._pending_events > self.max_pending and len(self._pending) > 1:
                dropped = self._pending.popleft()
                self._pending_events -= len(dropped[1])
                self.dropped += len(dropped[1])
            if self._pending_events >= FLUSH_EVENTS:
                self._cond.notify()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify()

    def _take(self) -> list:
        """Everything waiting, once FLUSH_SECONDS have passed since the last write (sooner when
        FLUSH_EVENTS wait, or when stopping)."""
        deadline = time.monotonic() + FLUSH_SECONDS
        with self._cond:
            while self._pending_events < FLUSH_EVENTS and not self._stop.is_set() and not self._urgent:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            taken, self._pending, self._pending_events = list(self._pending), deque(), 0
            self._urgent = False
            return taken

    def _give_back(self, taken: list) -> None:
        with self._cond:
            self._pending.extendleft(reversed(taken))
            self._pending_events += sum(len(t[1]) for t in taken)

    def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            stopping = self._stop.is_set()
            groups = deque(transactions(self._take()))
            if not groups and stopping:
                return
            while groups:
                try:
                    self.write(groups[0])
                    backoff = BACKOFF_FIRST
                except Exception as exc:                   # noqa: BLE001 - the thread must live on
                    if unavailable(exc) and not stopping:
                        if self.connected:
                            log.warning("history writer lost the database (%s); keeping what waits", one_line(exc))
                        self.connected = False
                        self._give_back([batch for group in groups for batch in group])
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, BACKOFF_MAX)
                        break
                    self.errors += 1
                    with self._cond:
                        self.failed += sum(len(t[1]) for t in groups[0])
                        self._cond.notify_all()
                    log.exception("history write of %d batches failed; they are not kept", len(groups[0]))
                groups.popleft()
                if groups and not stopping:
                    self._stop.wait(GROUP_PAUSE)           # the pipeline's alert writes get SQLite's lock

    def write(self, taken: list) -> None:
        """Batches (tenant, events, scores, received) as blocks and rollup deltas, in one transaction."""
        started = time.perf_counter()
        blocks = batch_blocks(taken)
        deltas = RollupDeltas()
        for block in blocks:
            deltas.add_cells(rollup_cells(block))
        self.store.write(blocks, deltas.scope_rows())
        if not self.connected:
            log.info("history writer reached the database again")
            self.connected = True
        self.last_flush_ms = (time.perf_counter() - started) * 1000
        with self._cond:                # last: flush() returns on this, with the figures above up to date
            self.written += sum(len(block) for block in blocks)
            self._cond.notify_all()

    def hurry(self) -> None:
        """Write what waits now, not at the next FLUSH_SECONDS (without waiting for it)."""
        with self._cond:
            self._urgent = True
            self._cond.notify()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything recorded so far is written (or dropped, or failed); False on timeout."""
        self.hurry()
        return settled(self._cond, lambda: self.recorded, lambda: self.written + self.dropped + self.failed, timeout)

    def stats(self) -> dict:
        with self._cond:
            pending = self._pending_events
        return {"recorded": self.recorded, "written": self.written, "pending": pending, "dropped": self.dropped,
                "errors": self.errors, "last_flush_ms": round(self.last_flush_ms, 1), "connected": self.connected}


class HistoryRetention(BackgroundThread):
    thread_name = "history-retention"

    def __init__(self, store: HistoryStore, raw_hours: float, days: float, every: float = 600.0,
                 clock: Callable[[], float] = time.time, compact_every: float = COMPACT_EVERY):
        self.store, self.raw_hours, self.days, self.every, self.clock = store, raw_hours, days, every, clock
        self.compact_every = compact_every
        self.last: dict = {}
        self.compacted_until: float | None = None     # blocks starting before this are merged already
        self._init_thread()

    def run_once(self) -> dict:
        now = self.clock()
        self.last = self.store.trim(now - self.raw_hours * 3600, now - self.days * 86400, stop=self._stop)
        return self.last

    def compact_once(self) -> None:
        """Merge the small blocks of the minutes closed since the last call (at the first, of all raw
        history): a minute is closed once its writes are in, two minutes after it."""
        now = self.clock()
        after = now - self.raw_hours * 3600 if self.compacted_until is None else self.compacted_until
        self.compacted_until = self.store.compact(after, now - COMPACT_AFTER)

    def _run(self) -> None:
        next_trim = time.monotonic() + min(60.0, self.every)
        while not self._stop.wait(min(self.compact_every, max(0.0, next_trim - time.monotonic()))):
            try:
                self.compact_once()
                if time.monotonic() >= next_trim:
                    self.run_once()
                    next_trim = time.monotonic() + self.every
            except Exception as exc:                       # noqa: BLE001 - retried at the next round
                log.warning("history retention failed (%s); retrying in %.0f s", one_line(exc), self.compact_every)
                self.last = {"error": one_line(exc)}
                next_trim = time.monotonic() + self.compact_every
