"""Compaction of raw history blocks (SqlHistoryStore.compact and the retention thread's rounds), on
SQLite and PostgreSQL: a low rate's small blocks merged per minute, answers and exports unchanged."""
import random

from sqlalchemy import func, select

import pytest

from history_data import T0, exported_rows, query, retail, sensor, write
from services.history.store import SqlHistoryStore
from services.history.writer import HistoryRetention
from services.storage.schema import history_blocks

HOUR = 3600


@pytest.fixture
def store(database):
    return SqlHistoryStore(database)


def block_count(store) -> int:
    with store.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(history_blocks)).scalar()


def test_compaction_merges_a_low_rates_small_blocks_and_answers_stay_the_same(store):
    rng = random.Random(5)
    for k in range(60):                  # SIM_RATE-like: a write of three events every 2.5 s for 150 s
        events = [retail(f"c{k}-{i}", 1 + i, 1 + k % 3, rng.randint(0, 400) / 4) for i in range(3)]
        events.append(sensor(f"s{k}", "pump-1", "vibration", "v-1", k / 4))
        write(store, "acme", events, T0 + k * 2.5, seed=k)
    write(store, "globex", [retail("g", 1, 1, 1.0)], T0 + 1)
    asked = [query({"bucket": "raw"}), query({"bucket": "raw", "dept": "2"}), query({"bucket": "raw", "profile": "sensor"}),
             query({"bucket": "1m", "time": "event"})]
    before = [store.series("acme", q, raw_since=0) for q in asked]
    exported = exported_rows(store, "acme", asked[0])
    blocks = block_count(store)
    assert blocks == 60 * 2 + 1
    assert store.compact(T0 - HOUR, T0 + 120) == T0 + 120             # minutes starting before T0+120 s
    assert block_count(store) == 2 * 2 + 12 * 2 + 1                   # two whole minutes merged (both profiles)
    assert [store.series("acme", q, raw_since=0) for q in asked] == before
    assert exported_rows(store, "acme", asked[0]) == exported
    assert store.compact(T0 - HOUR, T0 + 120, most=1) == T0 + 120      # nothing left to merge there
    assert store.compact(T0 + 120, T0 + HOUR, most=1) == T0 + 180      # at most one minute per profile: resumes


def test_the_retention_thread_compacts_the_minutes_closed_since_its_last_round(store):
    for k in range(8):
        write(store, "acme", [retail(f"r{k}", 1, 1, 1.0)], T0 + k * 10)
    now = [T0 + 60]
    retention = HistoryRetention(store, raw_hours=48, days=400, clock=lambda: now[0])
    retention.compact_once()                                          # the minute is not closed yet
    assert block_count(store) == 8 and retention.compacted_until == T0 + 60 - 120
    now[0] = T0 + 200
    retention.compact_once()
    assert block_count(store) == 2 and retention.compacted_until == T0 + 80
