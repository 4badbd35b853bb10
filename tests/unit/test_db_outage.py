"""The database unreachable (PostgreSQL stopped or restarting), in-process: what counts as an outage,
the API key grace, the thresholds that stand, and a stream worker that waits instead of
dead-lettering. The real outage, with real servers, is tests/distributed/test_pg_outage.py."""
import sqlite3

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError, TimeoutError as PoolTimeout

from services.ingest.stream_consumer import Entry
from services.pipeline.stream_worker import StreamWorker
from services.security.apikeys import ApiKeyStore
from services.storage.db import Database, unavailable
from services.tenants.settings import SourceSettings, TenantSettings, Thresholds


def outage() -> OperationalError:
    return OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused"))


def test_what_counts_as_the_database_being_unreachable():
    assert unavailable(outage())
    assert unavailable(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert unavailable(PoolTimeout("QueuePool limit reached"))
    assert unavailable(OperationalError("SELECT 1", {}, Exception("gone"), connection_invalidated=True))
    assert not unavailable(IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key")))
    assert not unavailable(OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")))
    assert not unavailable(ValueError("a bug"))


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "db.sqlite")
    yield database
    database.dispose()


def down(monkeypatch, db):
    def refuse(*_args, **_kwargs):
        raise outage()
    monkeypatch.setattr(db, "query", refuse)


def test_a_key_verified_shortly_before_keeps_working_while_the_database_is_away(db, monkeypatch):
    store = ApiKeyStore(db)
    record, key = store.create("producer")
    _, other = store.create("never-used")
    assert store.verify(key) == record
    with monkeypatch.context() as m:
        down(m, db)
        assert store.verify(key) == record             # verified a moment ago: producers keep going
        with pytest.raises(OperationalError):
            store.verify(other)                        # never verified here: the request gets 503
        store.grace_seconds = 0
        with pytest.raises(OperationalError):
            store.verify(key)                          # too long ago
    store.grace_seconds = 300
    store.revoke(record.prefix)
    assert store.verify(key) is None                   # the database answers: revocation counts at once
    with monkeypatch.context() as m:
        down(m, db)
        with pytest.raises(OperationalError):
            store.verify(key)                          # a refused key is never taken from the grace


def test_thresholds_last_read_stand_while_the_database_is_away(db, monkeypatch):
    settings = TenantSettings(db, SourceSettings(False, 1.0, 0.0), cache_seconds=0)
    settings.set_thresholds("acme", Thresholds(30, 50, 70))
    assert settings.thresholds("acme") == Thresholds(30, 50, 70)
    down(monkeypatch, db)
    assert settings.thresholds("acme") == Thresholds(30, 50, 70)
    with pytest.raises(OperationalError):
        settings.thresholds("never-read")              # nothing to stand on: the batch waits


class FailingProcessor:
    last_score_ms = 0.0

    def __init__(self, error):
        self.error = error

    def process(self, events):
        raise self.error


class CountingConsumer:
    def __init__(self):
        self.failures = []

    def decode(self, entries):
        return [{"event_id": e.id, "_entry": e.id, "_reclaimed": False} for e in entries], []

    def failed(self, failures):
        self.failures += failures
        return []


def worker(processor=None, consumer=None) -> StreamWorker:
    return StreamWorker(consumer, None, processor, None, None)


def test_a_database_outage_while_scoring_is_no_events_fault():
    consumer = CountingConsumer()
    w = worker(FailingProcessor(outage()), consumer)
    with pytest.raises(OperationalError):
        w.stage([Entry("1-0", b"{}"), Entry("2-0", b"{}"), Entry("3-0", b"{}")])
    assert consumer.failures == []                     # no attempt counted, nothing dead-lettered
    w = worker(FailingProcessor(RuntimeError("model bug")), consumer)
    staged = w.stage([Entry("1-0", b"{}"), Entry("2-0", b"{}")])
    assert len(consumer.failures) == 2 and staged.ack == []   # a real failure is still isolated and counted


def test_the_batch_is_retried_with_backoff_until_the_database_is_back():
    w = worker()
    calls, idles = [], []

    def store_alerts(batch):
        calls.append(batch)
        if len(calls) < 3:
            raise outage()
        return "stored"

    assert w.until_database(store_alerts, "batch", idle=lambda: idles.append(1)) == "stored"
    assert calls == ["batch"] * 3 and w.db_errors == 2 and w.db_connected
    assert idles                                       # the periodic work went on while waiting
    with pytest.raises(RuntimeError):                  # anything else is not retried here
        w.until_database(lambda: (_ for _ in ()).throw(RuntimeError("bug")))


def test_a_stopping_worker_stops_retrying():
    w = worker()
    w._stop.set()
    with pytest.raises(OperationalError):
        w.until_database(lambda: (_ for _ in ()).throw(outage()))


def test_the_periodic_work_goes_on_while_a_commit_waits():
    from concurrent.futures import ThreadPoolExecutor
    ticks = []
    w = StreamWorker(None, None, None, None, None, periodic=lambda: ticks.append(1))
    with ThreadPoolExecutor(1) as pool:
        w._wait(pool.submit(lambda: w._stop.wait(0.8)))
    assert len(ticks) >= 2                             # the leader lease and KPIs do not wait for the database
