"""HistoryWriterProcess: the batches recorded in this process are written by a real child process into
a real SQLite database, exactly as the thread writer writes them; stopping writes what waits; a child
that dies is replaced (nothing it had written is counted lost) and the
batches after it are written. HISTORY_WRITER picks the writer."""
import os
import signal
import time

from history_data import T0, retail, scores
from services.config import Config
from services.history.query import parse
from services.history.store import SqlHistoryStore, iso
from services.history.writer import HistoryWriter
from services.history.writer_process import HistoryWriterProcess, embedded_history_writer
from services.storage.db import Database


def batch(prefix: str, n: int):
    return [retail(f"{prefix}{i}", 1 + i % 3, 2, float(i)) for i in range(n)], scores(n)


def stored_ids(db: Database, tenant: str = "acme") -> list[str]:
    query = parse({"from": iso(T0 - 3600), "to": iso(T0 + 3600), "bucket": "raw"}, T0)
    return [p["event_id"] for p in SqlHistoryStore(db).series(tenant, query, raw_since=0)["series"]]


def started(tmp_path) -> tuple[Database, HistoryWriterProcess]:
    db = Database(tmp_path / "history.db")            # migrated here, as the runtime does before the child starts
    writer = HistoryWriterProcess(str(db.path), clock=lambda: T0 + 1.5)
    writer.start()
    return db, writer


def test_batches_are_written_by_the_child_as_the_thread_writer_writes_them(tmp_path):
    db, writer = started(tmp_path)
    try:
        writer.record("acme", *batch("a", 5))
        writer.record("globex", *batch("g", 2))
        writer.record("acme", *batch("b", 3))
        assert writer.flush(timeout=60)
        stats = writer.stats()
        assert (stats["recorded"], stats["written"], stats["pending"], stats["lost"]) == (10, 10, 0, 0), stats
        assert stats["process"] is not None and stats["process"] != os.getpid()
    finally:
        writer.stop()
    assert sorted(stored_ids(db)) == sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(3)])
    assert sorted(stored_ids(db, "globex")) == ["g0", "g1"]

    twin = Database(tmp_path / "twin.db")             # the same batches through the thread writer
    thread = HistoryWriter(SqlHistoryStore(twin), clock=lambda: T0 + 1.5)
    thread.start()
    for tenant, (events, scored) in (("acme", batch("a", 5)), ("globex", batch("g", 2)), ("acme", batch("b", 3))):
        thread.record(tenant, events, scored)
    assert thread.flush(timeout=30)
    thread.stop()
    query = parse({"from": iso(T0 - 3600), "to": iso(T0 + 3600), "bucket": "1m"}, T0)
    for tenant in ("acme", "globex"):
        assert (SqlHistoryStore(db).series(tenant, query, raw_since=0)
                == SqlHistoryStore(twin).series(tenant, query, raw_since=0))
    db.dispose()
    twin.dispose()


def test_stopping_writes_everything_that_waits(tmp_path):
    db, writer = started(tmp_path)
    for n in range(20):
        writer.record("acme", *batch(f"s{n}-", 50))
    writer.stop()                                     # no flush: stop sends, the child writes, then ends
    assert len(stored_ids(db)) == 1000
    assert writer.stats()["written"] == 1000
    db.dispose()


def test_a_child_that_dies_is_replaced_and_the_batches_after_it_are_written(tmp_path):
    db, writer = started(tmp_path)
    try:
        writer.record("acme", *batch("before-", 4))
        assert writer.flush(timeout=60)
        first = writer.stats()["process"]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while writer.stats()["restarts"] < 1:         # the sender saw it go (it polls while idle)
            assert time.monotonic() < deadline, writer.stats()
            time.sleep(0.05)
        writer.record("acme", *batch("after-", 3))
        assert writer.flush(timeout=60)               # waits for the new child, whatever it takes to start
        stats = writer.stats()
        assert stats["process"] not in (None, first) and stats["written"] == 7 and stats["lost"] == 0, stats
    finally:
        writer.stop()
    assert sorted(stored_ids(db)) == sorted([f"before-{i}" for i in range(4)] + [f"after-{i}" for i in range(3)])
    db.dispose()


def test_history_writer_setting_picks_the_writer(tmp_path):
    db = Database(tmp_path / "history.db")
    assert Config.from_env({"HISTORY_WRITER": "thread"}).history_writer == "thread"
    assert Config.from_env({}).history_writer == "auto"
    assert isinstance(embedded_history_writer("thread", db), HistoryWriter)
    process = embedded_history_writer("auto", db)       # no gevent here: the process
    assert isinstance(process, HistoryWriterProcess) and process.target == str(db.path)
    db.dispose()
