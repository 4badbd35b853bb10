"""SQLite access shared by the stores (users, alerts).

One connection per thread (sqlite3 connections must not cross threads), WAL journal so the ingest
thread can write alerts while web threads read them, and the schema created idempotently on open.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ALERTS = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    event_id TEXT NOT NULL,
    profile TEXT NOT NULL DEFAULT 'retail',
    priority TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    store INTEGER,
    dept INTEGER,
    asset_id TEXT,
    sensor_id TEXT,
    sensor_type TEXT,
    risk_score INTEGER NOT NULL,
    message TEXT NOT NULL,
    why TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    resolved_by TEXT,
    resolved_at TEXT,
    UNIQUE (tenant, event_id)
);
CREATE INDEX IF NOT EXISTS alerts_tenant_id ON alerts (tenant, id);
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'analyst')),
    tenant TEXT NOT NULL DEFAULT 'default',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    session_epoch INTEGER NOT NULL DEFAULT 0
);
""" + ALERTS + """CREATE TABLE IF NOT EXISTS calc_records (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    result TEXT,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS calc_records_user ON calc_records (user_id, kind, started_at);
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL,
    tenant TEXT NOT NULL DEFAULT 'default',
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_log_tenant_id ON audit_log (tenant, id);
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    expires_at REAL NOT NULL,
    remember INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS tenant_settings (
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant, name)
);
"""


class DatabaseUnreadable(RuntimeError):
    """The database file cannot be opened or read; the message says which file and what to do."""

    def __init__(self, path: Path, error: Exception):
        super().__init__(f"cannot use the database {path}: {error}. If the file is damaged, restore it from a "
                         f"backup, or move it aside (mv {path} {path}.damaged) to start with an empty database.")


class Database:
    """A SQLite file with a connection per thread."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        try:
            self._connection().executescript(SCHEMA)   # executescript manages its own transaction
            self._migrate()
            self.check()
        except sqlite3.DatabaseError as exc:
            raise DatabaseUnreadable(self.path, exc) from None

    def check(self) -> None:
        """Raise sqlite3.DatabaseError unless the users table (what every login reads) can be read:
        a truncated or damaged file can still answer `SELECT 1`, and a connection's page cache can hide
        damage done since it opened, so this reads through a new, read-only connection. Used at open
        and by /healthz."""
        conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=10)
        try:
            conn.execute("SELECT count(*) FROM users").fetchone()
        finally:
            conn.close()

    def _migrate(self) -> None:
        """Bring a database made by an older version up to SCHEMA (each step idempotent, one at a time).

        1: alerts gained sensor events (profile, asset_id, sensor_id, sensor_type; store and dept
        may be empty). SQLite cannot relax NOT NULL in place, so the table is rebuilt.
        2: alerts gained a workflow (status, who acknowledged or resolved them and when). Plain
        ADD COLUMNs: existing alerts become 'open' with nobody recorded.
        3: users gained a session epoch, raised by a password change to end every session signed in
        with the old password. Existing users start at 0, which their current sessions carry.
        """
        self._migration_step("alerts", "profile", self._rebuild_alerts_with_profiles)
        self._migration_step("alerts", "status", self._add_alert_workflow)
        self._migration_step("users", "session_epoch", lambda conn: conn.execute(
            "ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0"))

    def _migration_step(self, table: str, marker: str, step) -> None:
        """Run `step` unless `table` already has the `marker` column (checked again under the
        write lock: another process may be migrating the same file)."""
        conn = self._connection()
        if marker in self._columns(conn, table):
            return
        conn.execute("BEGIN IMMEDIATE")        # another process may be migrating: wait for it
        try:
            if marker not in self._columns(conn, table):
                step(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
        return {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}

    @staticmethod
    def _rebuild_alerts_with_profiles(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE alerts RENAME TO alerts_v0")
        conn.execute("DROP INDEX IF EXISTS alerts_tenant_id")
        for statement in ALERTS.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO alerts (id, tenant, event_id, priority, timestamp, store, dept, risk_score,"
                     " message, why) SELECT id, tenant, event_id, priority, timestamp, store, dept, risk_score,"
                     " message, why FROM alerts_v0")
        conn.execute("DROP TABLE alerts_v0")

    @staticmethod
    def _add_alert_workflow(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE alerts ADD COLUMN status TEXT NOT NULL DEFAULT 'open'")
        for column in ("acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at"):
            conn.execute(f"ALTER TABLE alerts ADD COLUMN {column} TEXT")

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) != os.getpid():
            conn = None     # a forked child (a background-callback job): never reuse the parent's connection
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self._connection().execute(sql, params).fetchall()
