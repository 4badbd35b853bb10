"""BulkInsert on SQLite: rows go in with a bounded set of statements, each prepared once.

One statement per distinct row count kept up to 128 prepared statements of thousands of parameters in
every pooled connection (SQLite's heap reached 250 MB within a minute at 5,000 events/s)."""
import sqlite3

from services.history.store import SqlHistoryStore
from services.storage.bulk import BulkInsert
from services.storage.db import Database


def rollup_inserter(db: Database) -> BulkInsert:
    return SqlHistoryStore(db)._upsert_rollups


def test_every_count_is_split_into_few_distinct_sizes(tmp_path):
    bulk = rollup_inserter(Database(tmp_path / "db.sqlite"))
    step = bulk.rows_per_statement
    seen = set()
    for count in range(0, 3 * step + 7):
        sizes = bulk.sizes(count)
        assert sum(sizes) == count and all(0 < s <= step for s in sizes)
        assert sizes == sorted(sizes, reverse=True)
        seen.update(sizes)
    assert len(seen) <= step.bit_length() + 1            # the full statement and the powers of two below it


def test_rows_of_any_count_go_in_whole_and_in_order_with_few_statements(tmp_path):
    db = Database(tmp_path / "db.sqlite")
    bulk = rollup_inserter(db)
    total = 0
    for count in (1, 3, 1000, 2500, 777, 4097):
        rows = [("t", f"s{total + i}", 60, 0, 1, 1.0, 1.0, 1.0, 0, 0) for i in range(count)]
        total += count
        with db.connect() as conn:
            bulk(conn, rows)
    with sqlite3.connect(tmp_path / "db.sqlite") as raw:
        scopes = [s for (s,) in raw.execute("SELECT scope FROM history_rollups ORDER BY rowid")]
    assert scopes == [f"s{i}" for i in range(total)]
    assert len(bulk._texts) <= bulk.rows_per_statement.bit_length() + 1     # the statements it ever built
