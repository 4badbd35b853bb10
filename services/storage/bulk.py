"""Bulk INSERTs compiled once: the way the hot writers (history rows and rollups, alerts) reach the database.

SQLAlchemy compiles an `insert().values([...])` of a thousand rows afresh on every call, which cost more
than the database's own work; `BulkInsert` compiles one row's statement once and runs it the way each
database takes many rows cheapest, measured on this machine (client CPU per history row of 24 values):

- SQLite: multi-row statements (`VALUES (...), (...), ...`): 4.8 us a row. Not an executemany: SQLite
  drops and retakes Python's GIL around every row's step, and each retake can wait for the busy pipeline
  thread's switch interval (5 ms), so a 5,000-row executemany crawled and stole the pipeline's time; one
  statement per thousand rows runs in C between two handovers.
- PostgreSQL, a plain INSERT: COPY FROM STDIN, 2.7 us a row (the same multi-row VALUES through psycopg
  cost 88 us a row: its parameters are converted one by one).
- PostgreSQL with ON CONFLICT or RETURNING (alerts, rollup upserts), which COPY cannot do:
  `INSERT ... SELECT * FROM unnest(%s::type[], ...)`, one array per column, 11 us a row.
"""
from __future__ import annotations

import re
from itertools import chain

from services.storage.db import Database


class BulkInsert:
    """`statement` (an INSERT, maybe with ON CONFLICT and RETURNING) run for many tuples in `columns` order
    (the statement's own column order: checked)."""

    MAX_PARAMETERS = 30_000          # SQLite allows 32,766 at the least (3.32+)

    def __init__(self, db: Database, statement, columns: tuple[str, ...]):
        dialect = db.engine.dialect
        if dialect.paramstyle not in ("qmark", "format"):          # named placeholders cannot repeat
            dialect = type(dialect)(paramstyle="format")
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        if tuple(compiled.positiontup) != columns:
            raise ValueError(f"the statement takes {compiled.positiontup}, not the rows' {columns}")
        self.head, self.group, self.tail = re.fullmatch(r"(.* VALUES )(\([^()]*\))(.*)", str(compiled), re.S).groups()
        self.postgresql = db.dialect == "postgresql"
        if self.postgresql:
            table = statement.table
            if self.tail.strip():
                types = [dialect.type_compiler_instance.process(table.c[name].type) for name in columns]
                self.unnest = (self.head[:-len(" VALUES ")] + " SELECT * FROM unnest("
                               + ", ".join(f"%s::{kind}[]" for kind in types) + ")" + self.tail)
                self.copy = None
            else:
                self.copy = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        else:
            self.rows_per_statement = self.MAX_PARAMETERS // len(columns)
            self._texts: dict[int, str] = {}

    def sql(self, rows: int) -> str:
        return self.head + ", ".join([self.group] * rows) + self.tail

    def __call__(self, conn, rows: list[tuple]) -> list:
        """Insert the rows in `conn`'s transaction; what the statement returns (its RETURNING rows)."""
        if not rows:
            return []
        if self.postgresql:
            return self._postgresql(conn, rows)
        returned, first = [], 0
        for size in self.sizes(len(rows)):          # one statement each: every one is a GIL handover
            part = rows[first:first + size]
            first += size
            result = conn.exec_driver_sql(self._sql(size), tuple(chain.from_iterable(part)))
            if result.returns_rows:
                returned.extend(result.all())
        return returned

    def sizes(self, count: int) -> list[int]:
        """How many rows each statement takes: full statements, then the rest as powers of two (biggest
        first). So a table is written with at most a dozen distinct statements, each prepared once and
        then reused from the connection's statement cache. One statement per distinct row count kept up
        to 128 prepared statements of thousands of parameters in every pooled connection: SQLite's heap
        grew to 250 MB within a minute at 5,000 events/s, and each new count was parsed afresh."""
        full, rest = divmod(count, self.rows_per_statement)
        return [self.rows_per_statement] * full + [1 << bit for bit in range(rest.bit_length() - 1, -1, -1)
                                                   if rest >> bit & 1]

    def _sql(self, rows: int) -> str:
        text = self._texts.get(rows)
        if text is None:
            text = self._texts[rows] = self.sql(rows)
        return text

    def _postgresql(self, conn, rows: list[tuple]) -> list:
        if self.copy is None:
            result = conn.exec_driver_sql(self.unnest, tuple(list(column) for column in zip(*rows)))
            return result.all() if result.returns_rows else []
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(self.copy) as copy:
            for row in rows:
                copy.write_row(row)
        return []
