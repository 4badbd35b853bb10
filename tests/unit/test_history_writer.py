"""HistoryWriter: the pipeline hands batches over without waiting, the thread writes them in one store
call per flush, survives failures (a database that is away is waited out, anything else is counted),
and a bounded backlog drops its oldest batches, counted."""
import threading
import time

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from history_data import T0, as_dict, retail, scores
from services.history.query import parse
from services.history.store import HistoryStore, SqlHistoryStore, iso
from services.history.rows import ROLLUP_COLUMNS
from services.history.writer import TRANSACTION_EVENTS, HistoryWriter, transactions
from services.storage.db import Database


class FakeStore(HistoryStore):
    """Keeps what it is given; `fail` holds exceptions to raise, one per write, before succeeding;
    `gate`, when set, is waited on inside write (a slow database)."""

    def __init__(self):
        self.writes: list[tuple[list, list]] = []
        self.fail: list[Exception] = []
        self.gate: threading.Event | None = None
        self.attempts = 0

    def write(self, rows, rollup_rows):
        self.attempts += 1
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            error = self.fail.pop(0)
            if error is not None:
                raise error
        self.writes.append((rows, rollup_rows))

    def ids(self) -> list[str]:
        """The event ids written, write by write, block by block (a write of one minute: one block)."""
        return [i for blocks, _ in self.writes for block in blocks for i in block.columns["event_id"].tolist()]

    def series(self, tenant, query, raw_since):
        raise NotImplementedError

    def export(self, tenant, query):
        raise NotImplementedError

    def trim(self, raw_before, rollups_before, batch=5000, stop=None):
        raise NotImplementedError


def batch(prefix: str, n: int) -> tuple[list[dict], object]:
    return [retail(f"{prefix}{i}", 1, 1 + i % 3, float(i)) for i in range(n)], scores(n)


def hold_writing(writer: HistoryWriter, store: FakeStore, prefix: str, n: int) -> None:
    """Record a batch and return once the writer is inside store.write with it, held there until
    `store.gate` is set."""
    store.gate = threading.Event()
    writer.record("acme", *batch(prefix, n))
    deadline = time.monotonic() + 10
    while store.attempts == 0:
        assert time.monotonic() < deadline, "the writer never wrote"
        time.sleep(0.01)


@pytest.fixture
def running():
    """A started writer on a FakeStore (stopped after the test)."""
    writers = []

    def make(**kwargs) -> tuple[HistoryWriter, FakeStore]:
        store = FakeStore()
        writer = HistoryWriter(store, **kwargs)
        writer.start()
        writers.append(writer)
        return writer, store
    yield make
    for writer in writers:
        writer.stop()


def test_flush_waits_until_everything_recorded_is_written_in_one_store_call(running):
    writer, store = running()
    for k in range(3):
        writer.record("acme", *batch(f"b{k}-", 4))
    assert writer.flush(timeout=10)
    assert store.ids() == [f"b{k}-{i}" for k in range(3) for i in range(4)]
    assert len(store.writes) == 1                    # one write per flush: the batches waiting together
    blocks, rollups = store.writes[0]
    rollups = [as_dict(r, ROLLUP_COLUMNS) for r in rollups]
    assert {block.tenant for block in blocks} == {"acme"}
    assert sum(r["count"] for r in rollups if r["scope"] == "retail") == 12 * 2          # its minute and its hour
    stats = writer.stats()
    assert stats["recorded"] == stats["written"] == 12 and stats["pending"] == 0 and stats["dropped"] == 0
    assert stats["errors"] == 0 and stats["connected"] is True


def test_recording_never_waits_for_the_database(running):
    writer, store = running()
    hold_writing(writer, store, "first-", 2)
    batches = [batch(f"b{k}-", 20) for k in range(50)]
    started = time.perf_counter()
    for events, scored in batches:
        writer.record("acme", events, scored)
    assert time.perf_counter() - started < 0.5 and writer.stats()["pending"] == 1000
    store.gate.set()
    assert writer.flush(timeout=10) and len(store.ids()) == 1002


def test_much_waiting_is_written_in_several_short_transactions_of_whole_batches(running):
    big, over = TRANSACTION_EVENTS * 9 // 20, TRANSACTION_EVENTS * 5 // 4
    sizes = [big, big, big, over, 10, 10]
    groups = transactions([("acme", [None] * n, None, 0.0) for n in sizes])
    assert [[len(b[1]) for b in g] for g in groups] == [[big, big], [big], [over], [10, 10]]
    writer, store = running()
    hold_writing(writer, store, "first-", 1)         # held inside write() until everything waits
    for k, n in enumerate(sizes):
        writer.record("acme", *batch(f"b{k}-", n))
    store.gate.set()
    assert writer.flush(timeout=30)
    assert [sum(map(len, blocks)) for blocks, _ in store.writes] == [1, 2 * big, big, over, 20]
    assert store.ids() == ["first-0"] + [f"b{k}-{i}" for k, n in enumerate(sizes) for i in range(n)]


def test_a_database_lost_between_two_transactions_gets_only_the_rest_again(running):
    writer, store = running()
    hold_writing(writer, store, "first-", 1)
    for k in range(3):
        writer.record("acme", *batch(f"b{k}-", TRANSACTION_EVENTS * 3 // 4))
    store.fail = [None, PoolTimeout("gone")]         # the second transaction finds the database away
    store.gate.set()
    assert writer.flush(timeout=30)
    assert store.ids() == ["first-0"] + [f"b{k}-{i}" for k in range(3) for i in range(TRANSACTION_EVENTS * 3 // 4)]
    assert writer.errors == writer.failed == 0


def test_an_error_is_counted_and_the_writer_carries_on(running):
    writer, store = running()
    store.fail = [ValueError("a bug")]
    writer.record("acme", *batch("lost-", 3))
    assert writer.flush(timeout=10)                  # failed batches count as done: flush does not hang
    writer.record("acme", *batch("kept-", 2))
    assert writer.flush(timeout=10)
    assert store.ids() == ["kept-0", "kept-1"]
    stats = writer.stats()
    assert stats["errors"] == 1 and writer.failed == 3 and stats["written"] == 2 and stats["connected"] is True


def test_a_database_that_is_away_is_waited_out_and_nothing_is_lost(running):
    writer, store = running()
    store.fail = [PoolTimeout("no connection"), PoolTimeout("no connection")]
    writer.record("acme", *batch("a-", 3))
    deadline = time.monotonic() + 10
    while writer.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.stats()["connected"] is False
    writer.record("acme", *batch("b-", 2))           # more arrives meanwhile: kept behind what waits
    assert writer.flush(timeout=20)
    assert store.ids() == ["a-0", "a-1", "a-2", "b-0", "b-1"]
    assert writer.stats()["connected"] is True and writer.errors == 0 and writer.failed == 0


def test_a_full_backlog_drops_its_oldest_batches_and_counts_them():
    store = FakeStore()
    writer = HistoryWriter(store, max_pending=100)   # not started: everything waits
    for k in range(4):
        writer.record("acme", *batch(f"b{k}-", 40))
    assert writer.stats()["pending"] == 80 and writer.dropped == 80
    writer.record("acme", *batch("huge-", 150))      # bigger than the bound alone: kept, the rest dropped
    assert writer.stats()["pending"] == 150 and writer.dropped == 160
    writer.start()
    try:
        assert writer.flush(timeout=10)
    finally:
        writer.stop()
    assert store.ids() == [f"huge-{i}" for i in range(150)]
    assert writer.stats() | {"last_flush_ms": 0} == {"recorded": 310, "written": 150, "pending": 0, "dropped": 160,
                                                     "errors": 0, "last_flush_ms": 0, "connected": True}


def test_stopping_writes_what_waits():
    store = FakeStore()
    writer = HistoryWriter(store)
    writer.start()
    writer.record("acme", *batch("late-", 5))
    writer.stop()
    assert store.ids() == [f"late-{i}" for i in range(5)]


def test_batches_reach_the_database_stamped_with_the_writers_clock(tmp_path):
    db = Database(tmp_path / "history.db")
    store = SqlHistoryStore(db)
    writer = HistoryWriter(store, clock=lambda: T0 + 42.5)
    writer.start()
    try:
        writer.record("acme", *batch("r", 3))
        writer.record("globex", *batch("g", 1))
        assert writer.flush(timeout=10)
    finally:
        writer.stop()
    query = parse({"from": iso(T0), "to": iso(T0 + 60), "bucket": "raw"}, T0)
    points = store.series("acme", query, raw_since=0)["series"]
    assert [(p["event_id"], p["received"], p["value"]) for p in points] == [
        ("r0", iso(T0 + 42.5), 0.0), ("r1", iso(T0 + 42.5), 1.0), ("r2", iso(T0 + 42.5), 2.0)]
    [minute] = store.series("acme", query.with_bucket("1m"), raw_since=0)["series"]
    assert (minute["t"], minute["count"], minute["sum"]) == (iso(T0), 3, 3.0)
    db.dispose()
