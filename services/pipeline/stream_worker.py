"""The distributed ingest/model worker: stream -> validate -> score -> alerts -> atomic commit -> publish.

Same steps as the embedded pipeline (services.pipeline.embedded), with Redis in place of process memory:
events come from the stream as one consumer of the workers' group; a batch's state change and its
acknowledgement are one atomic script (services/pipeline/redis_state.py), so every acknowledged event was
counted exactly once; alerts are stored (idempotent by event id) before that commit and published
after it. An event the model fails on is isolated by splitting the batch, retried up to
MAX_ATTEMPTS deliveries and then dead-lettered, while the rest of the batch goes on.

If Redis goes away the loop backs off (0.2 s doubling to 5 s) and resumes where the group left
off; nothing it had not committed was acknowledged, so nothing is lost. The leader lease decides
which worker also runs the cluster's singleton jobs (services.runtime.worker).
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis

from services.storage.alerts import AlertStore
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
        self.stats = PipelineStats(log)
        self.dead_lettered = self.stale_commits = self.redis_errors = 0
        self.connected = False
        self._init_thread()

    def _run(self) -> None:
        """Three stages overlap: the next batch is read (reader thread) while this one is scored (this
        thread) while the previous one is stored and committed (committer thread). Reading and
        committing are mostly waiting for Redis; without the overlap this thread idled for it."""
        backoff, group_ready = 0.2, False
        with ThreadPoolExecutor(1, "stream-reader") as reader, ThreadPoolExecutor(1, "stream-committer") as committer:
            ahead = committing = None
            while not self._stop.is_set():
                try:
                    if not group_ready:
                        self.consumer.ensure_group()
                        group_ready = True
                    entries = ahead.result() if ahead is not None else self._fetch()
                    ahead = None
                    self.connected, backoff = True, 0.2
                    if entries and not self._stop.is_set():
                        ahead = reader.submit(self._fetch)
                        staged = self.stage(entries)
                        if committing is not None:
                            committing, previous = None, committing
                            previous.result()           # one batch in flight: errors surface here
                        committing = committer.submit(self.finish, staged)
                    if self.periodic is not None:
                        self.periodic()
                except redis.RedisError as exc:
                    ahead = committing = None          # uncommitted batches stay pending: re-read later
                    self.redis_errors += 1
                    if self.connected:
                        log.warning("worker lost Redis (%s); retrying with backoff", exc)
                    self.connected, group_ready = False, False
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                except Exception:
                    committing = None
                    self.stats.batch_errors += 1
                    log.exception("worker batch failed; its events stay pending and will be retried")
            for future in (ahead, committing):
                if future is not None:
                    future.cancel()

    def _fetch(self) -> list[Entry]:
        return self.consumer.read(self.batch_max_events, self.batch_max_wait, self._stop)

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
        batch_done(self.stats, len(staged.entries), staged.batches, staged.score_ms)

    def score_isolating(self, events: list[dict]) -> tuple[list[TenantBatch], list[tuple[dict, Exception]]]:
        """Score the batch; if it raises, split it until the events that fail are alone."""
        if not events:
            return [], []
        try:
            return self.processor.process(events), []
        except Exception as exc:
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
                     at=time.time())
        return stats
