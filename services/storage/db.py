"""The database every store shares: SQLite in DATA_DIR, or PostgreSQL when DATABASE_URL names one.

One code path for both, through SQLAlchemy Core: an Engine with a connection pool (connections are
checked out per use, so any thread or greenlet gets its own and none crosses threads), the tables of
services/storage/schema.py, and the schema kept up to date by Alembic (services/storage/migrate.py)
when the database is opened: N processes starting together migrate once (a lock), the rest wait.

SQLite: WAL journal so the ingest thread writes alerts while web threads read them, a 10 s busy
timeout, real transactions (SQLAlchemy's documented pysqlite recipe: the driver's own implicit
BEGIN is switched off and every transaction begins with BEGIN).
"""
from __future__ import annotations

import os
import sqlite3
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.engine import RowMapping, make_url
from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout

from services.storage import schema


class DatabaseUnreadable(RuntimeError):
    """The database cannot be opened or read; the message names it (never a password) and says what to do."""

    def __init__(self, path: Path, error: Exception):
        super().__init__(f"cannot use the database {path}: {error}. If the file is damaged, restore it from a "
                         f"backup, or move it aside (mv {path} {path}.damaged) to start with an empty database.")


class DatabaseUnreachable(DatabaseUnreadable):
    """PostgreSQL refused or could not be reached."""

    def __init__(self, url: str, error: Exception):
        RuntimeError.__init__(self, f"cannot use the database {url}: {one_line(error)}. Check DATABASE_URL and "
                              f"that the PostgreSQL server is running and reachable.")


def one_line(error: BaseException) -> str:
    """The first line of what the driver said (SQLAlchemy's wrapper adds the SQL and a link)."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database server cannot be used right now (PostgreSQL stopped,
    restarting or shutting down, a connection it dropped, no pooled connection free in time): worth
    retrying, never the request's or the event's fault. Callers answer 503 or back off and retry.

    SQLite's errors (a locked or damaged file) are not classed so: embedded mode behaves as before."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig
    psycopg = sys.modules.get("psycopg")          # never imported here: no PostgreSQL, no psycopg error
    return psycopg is not None and isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None          # no implicit BEGIN from the driver
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql(conn.info.pop("begin", "BEGIN"))


class Database:
    """A SQLite file (a path) or a PostgreSQL database (a `postgresql+psycopg://` URL)."""

    def __init__(self, target: str | Path, migrate: bool = True):
        text_target = str(target)
        self.path: Path | None = None
        if "://" in text_target:
            self.url = make_url(text_target)
            self.engine = create_engine(self.url, pool_pre_ping=True, pool_size=5, max_overflow=20,
                                        connect_args={"connect_timeout": 10})
        else:
            self.path = Path(target)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.url = make_url(f"sqlite:///{self.path}")
            self.engine = create_engine(self.url, pool_size=5, max_overflow=20,
                                        connect_args={"timeout": 10, "check_same_thread": False})
            _sqlite_setup(self.engine)
        self.dialect = self.engine.dialect.name
        self._pid = os.getpid()
        try:
            if migrate:
                from services.storage.migrate import upgrade
                upgrade(self)
                self.check()
        except (DBAPIError, sqlite3.DatabaseError) as exc:
            raise self.unreadable(exc) from None

    @classmethod
    def from_config(cls, config, migrate: bool = True) -> "Database":
        """DATABASE_URL when set, else SQLite at DATA_DIR/pulseboard.db."""
        return cls(config.database_url or Path(config.data_dir) / "pulseboard.db", migrate=migrate)

    @property
    def display_url(self) -> str:
        """The URL without its password (for messages and logs)."""
        return str(self.path) if self.path else self.url.render_as_string(hide_password=True)

    def unreadable(self, exc: Exception) -> DatabaseUnreadable:
        return DatabaseUnreadable(self.path, exc) if self.path else DatabaseUnreachable(self.display_url, exc)

    def check(self) -> None:
        """Raise unless the users table (what every login reads) can be read. Used at open and by /healthz.

        SQLite: a truncated or damaged file can still answer `SELECT 1`, and a pooled connection's page
        cache can hide damage done since it opened, so this reads through a new, read-only connection."""
        if self.path is None:
            with self._engine().connect() as conn:
                conn.execute(select(func.count()).select_from(schema.users)).scalar()
            return
        conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=10)
        try:
            conn.execute("SELECT count(*) FROM users").fetchone()
        finally:
            conn.close()

    def _engine(self) -> Engine:
        if self._pid != os.getpid():     # a forked child (a background-callback job): never the parent's connections
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        return self.engine

    @contextmanager
    def connect(self, begin: str = "BEGIN") -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back if it raises. `begin` is what
        starts it on SQLite (BEGIN IMMEDIATE takes the write lock at once)."""
        with self._engine().connect() as conn:
            conn.info["begin"] = begin
            with conn.begin():
                yield conn

    def query(self, statement, params: dict | None = None) -> list[RowMapping]:
        """Rows of one statement (Core, or SQL text with :named parameters) as mappings:
        row["col"] and dict(row) work."""
        if isinstance(statement, str):
            statement = text(statement)
        with self._engine().connect() as conn:
            rows = conn.execute(statement, params or {}).mappings().all()
            conn.commit()
        return rows

    def insert(self, table):
        """INSERT with ON CONFLICT (the one construct SQLAlchemy keeps per dialect)."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def dispose(self) -> None:
        self.engine.dispose()
