"""The distributed ingest/model worker: stream -> validate -> score -> alerts -> atomic commit -> publish.

Same steps as the embedded pipeline (services.pipeline.embedded), with Redis in place of process memory:
events come from the stream as one consumer of the workers' group; a batch's state change and its
acknowledgement are one atomic script (services/pipeline/redis_state.py), so every acknowledged event was
counted exactly once; alerts are stored (idempotent by event id) before that commit and published
after it. An event the model fails on is isolated by splitting the batch, retried up to
MAX_ATTEMPTS deliveries and then dead-lettered, while the rest of the batch goes on.

If Redis goes away the loop backs off (0.2 s doubling to 5 s) and resumes where the group left
off; nothing it had not committed was acknowledged, so nothing is lost. If the database goes away
(PostgreSQL stopped or restarting), the batch in hand is retried with the same backoff until its
alerts are stored, and only then committed: its events stay pending meanwhile, no attempt is
counted against them (an outage is not a poison event), and the leader's periodic work goes on. The leader lease decides
which worker also runs the cluster's singleton jobs (services.runtime.worker).
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass

import redis

from services.storage.alerts import AlertStore
from services.storage.db import one_line, unavailable
from services.background import BackgroundThread
from services.pipeline.apply import batch_done, publish_applied
from services.pipeline.batch import BatchProcessor, PipelineStats, TenantBatch
from services.pipeline.publisher import Publisher
from services.ingest.stream_consumer import DeadEntry
from services.pipeline.redis_state import CommitResult, RedisLiveState
from services.ingest.stream_consumer import Entry, StreamConsumer
from services.config import Config

log = logging.getLogger(__name__)

COMMIT_RETRIES = 3
BACKOFF_FIRST, BACKOFF_MAX = 0.2, 5.0


@dataclass
class Staged:
    """A scored batch waiting to be stored and committed."""
    entries: list[Entry]
    ack: list[str]
    dead: list[DeadEntry]
    batches: list[TenantBatch]
    score_ms: float


class StreamWorker(BackgroundThread):
    thread_name = "stream-worker"

    def __init__(self, consumer: StreamConsumer, state: RedisLiveState, processor: BatchProcessor,
                 alerts: AlertStore, publisher: Publisher, batch_max_events: int = Config.batch_max_events,
                 batch_max_wait: float = Config.batch_max_wait,
                 periodic=None):
        self.consumer = consumer
        self.state = state
        self.processor = processor
        self.alerts = alerts
        self.publisher = publisher
        self.batch_max_events = min(batch_max_events, 5000)   # ids go through Lua's unpack
        self.batch_max_wait = batch_max_wait
        self.periodic = periodic            # called between batches (leader duties, stats)
        self.history = None                 # a HistoryWriter: committed batches are handed to it
        self.stats = PipelineStats(log)
        self.dead_lettered = self.stale_commits = self.redis_errors = self.db_errors = 0
        self.connected, self.db_connected = False, True
        self._init_thread()

    def _run(self) -> None:
        """Three stages overlap: the next batch is read (reader thread) while this one is scored (this
        thread) while the previous one is stored and committed (committer thread). Reading and
        committing are mostly waiting for Redis; without the overlap this thread idled for it."""
        backoff, group_ready = BACKOFF_FIRST, False
        with ThreadPoolExecutor(1, "stream-reader") as reader, ThreadPoolExecutor(1, "stream-committer") as committer:
            ahead = committing = None
            while not self._stop.is_set():
                try:
                    if not group_ready:
                        self.consumer.ensure_group()
                        group_ready = True
                    entries = ahead.result() if ahead is not None else self._fetch()
                    ahead = None
                    self.connected, backoff = True, BACKOFF_FIRST
                    if entries and not self._stop.is_set():
                        ahead = reader.submit(self._fetch)
                        staged = self.until_database(self.stage, entries, idle=self.periodic)
                        if committing is not None:
                            committing, previous = None, committing
                            self._wait(previous)        # one batch in flight: errors surface here
                        committing = committer.submit(self.until_database, self.finish, staged)
                    if self.periodic is not None:
                        self.periodic()
                except redis.RedisError as exc:
                    ahead = committing = None          # uncommitted batches stay pending: re-read later
                    self.redis_errors += 1
                    if self.connected:
                        log.warning("worker lost Redis (%s); retrying with backoff", exc)
                    self.connected, group_ready = False, False
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX)
                except Exception:
                    committing = None
                    self.stats.batch_errors += 1
                    log.exception("worker batch failed; its events stay pending and will be retried")
            for future in (ahead, committing):
                if future is not None:
                    future.cancel()

    def _fetch(self) -> list[Entry]:
        return self.consumer.read(self.batch_max_events, self.batch_max_wait, self._stop)

    def _wait(self, future: Future) -> None:
        """The committer's result; the periodic work (leader lease, KPIs, stats) goes on meanwhile,
        however long the commit waits for the database."""
        while True:
            try:
                return future.result(timeout=0.25)
            except FutureTimeout:
                if self.periodic is not None:
                    self.periodic()

    def until_database(self, step, *args, idle=None):
        """`step(*args)`, retried with backoff (0.2 s doubling to 5 s) while the database is
        unreachable. Nothing is acknowledged or counted as an attempt meanwhile; `idle` (the periodic
        work, in the loop's own thread) is called every 0.25 s while waiting."""
        backoff, failed = BACKOFF_FIRST, False
        while True:
            try:
                result = step(*args)
            except Exception as exc:
                if not unavailable(exc) or self._stop.is_set():
                    raise
                self.db_errors += 1
                failed = True
                if self.db_connected:
                    log.warning("worker lost the database (%s); the batch stays pending and is retried with backoff",
                                one_line(exc))
                self.db_connected = False
                deadline = time.monotonic() + backoff
                while not self._stop.wait(min(0.25, max(0.0, deadline - time.monotonic()))):
                    if time.monotonic() >= deadline:
                        break
                    if idle is not None:
                        idle()
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            if failed:              # (a step that needed no database says nothing about it)
                log.info("worker reached the database again; carrying on")
                self.db_connected = True
            return result

    # -- one batch -------------------------------------------------------------------------------
    def handle(self, entries: list[Entry]) -> None:
        """Process one batch start to end (the loop overlaps the two halves across batches)."""
        self.finish(self.stage(entries))

    def stage(self, entries: list[Entry]) -> Staged:
        """CPU half: decode, validate, score; poison events counted (they are not acknowledged)."""
        events, dead = self.consumer.decode(entries)
        batches, failures = self.score_isolating(events)
        retry_later = set()
        if failures:
            out_of_attempts = self.consumer.failed(failures)
            dead += out_of_attempts
            retry_later = {e["_entry"] for e, _ in failures} - {d.entry_id for d in out_of_attempts}
        return Staged(entries, [e.id for e in entries if e.id not in retry_later], dead, batches,
                      self.processor.last_score_ms)

    def finish(self, staged: Staged) -> None:
        """I/O half: store alerts, commit atomically with the acknowledgement, then publish."""
        stored = {id(b): self.alerts.save(b.tenant, b.alerts, include_existing=any(e["_reclaimed"] for e in b.events))
                  for b in staged.batches}
        batches, dead, result = self.commit(staged.ack, staged.dead, staged.batches,
                                            check=not self.consumer.fresh(staged.entries))
        if result is None:
            return
        for d in dead:
            self.stats.count_rejected(d.label)
        self.dead_lettered += len(dead)
        for b in batches:
            kept = {e["event_id"] for e in b.events}
            alerts = [a for a in stored.get(id(b), ()) if a["event_id"] in kept]
            publish_applied(self.publisher, self.stats, b, alerts, result.health.get(b.tenant, []))
            if self.history is not None:
                self.history.record(b.tenant, b.events, b.scores)
        batch_done(self.stats, len(staged.entries), staged.batches, staged.score_ms)

    def score_isolating(self, events: list[dict]) -> tuple[list[TenantBatch], list[tuple[dict, Exception]]]:
        """Score the batch; if it raises, split it until the events that fail are alone."""
        if not events:
            return [], []
        try:
            return self.processor.process(events), []
        except Exception as exc:
            if unavailable(exc):         # not these events' fault: the whole batch waits (until_database)
                raise
            if len(events) == 1:
                log.warning("event %s failed scoring: %s", events[0]["event_id"], exc)
                return [], [(events[0], exc)]
        mid = len(events) // 2
        left, right = self.score_isolating(events[:mid]), self.score_isolating(events[mid:])
        return left[0] + right[0], left[1] + right[1]

    def commit(self, ack: list[str], dead: list[DeadEntry], batches: list[TenantBatch],
               check: bool = True) -> tuple[list[TenantBatch], list[DeadEntry], CommitResult | None]:
        """Commit; if part of the batch was committed by another worker meanwhile, commit only the rest.

        `check`: the batch is old enough that another worker may have reclaimed it (see
        StreamConsumer.fresh), so the commit first verifies each entry is still pending."""
        for _ in range(COMMIT_RETRIES):
            result = self.state.commit(self.consumer.name, ack, dead, batches, check)
            if result.applied:
                return batches, dead, result
            still = {i for i, pending in zip(ack, result.pending) if pending}
            self.stale_commits += len(ack) - len(still)
            ack = [i for i in ack if i in still]
            dead = [d for d in dead if d.entry_id in still]
            batches = [sub for b in batches
                       if (sub := b.subset([k for k, e in enumerate(b.events) if e["_entry"] in still])).events]
            check = True
            if not ack:
                return [], [], None
        log.warning("could not commit a batch after %d tries; its events stay pending", COMMIT_RETRIES)
        return [], [], None

    def local_stats(self) -> dict:
        stats = self.stats.as_dict()
        stats.update(dead_lettered=self.dead_lettered, reclaimed=self.consumer.reclaimed,
                     stale_commits=self.stale_commits, redis_errors=self.redis_errors, connected=self.connected,
                     db_errors=self.db_errors, db_connected=self.db_connected,
                     at=time.time())
        if self.history is not None:
            stats["history"] = self.history.stats()
        return stats
