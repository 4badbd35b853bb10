"""Alembic migrations: a database file written by the release before them (every table filled) and an
older-layout file are upgraded in place with nothing lost; an unreachable PostgreSQL is one clear line."""
import json
import sqlite3

import pytest
from sqlalchemy import text

from helpers import free_port
from services.security.apikeys import ApiKeyStore
from services.security.sessions import SessionStore
from services.security.users import UserStore
from services.storage.alerts import AlertStore
from services.storage.calc_records import CalcRecords
from services.storage.db import Database, DatabaseUnreachable
from services.storage.migrate import current, head
from services.tenants.audit import AuditLog
from services.tenants.settings import SourceSettings, TenantSettings

# The schema exactly as the last release before Alembic created it (services/storage/db.py SCHEMA).
RELEASE_SCHEMA = """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'analyst')),
        tenant TEXT NOT NULL DEFAULT 'default',
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        session_epoch INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE alerts (
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
    CREATE INDEX alerts_tenant_id ON alerts (tenant, id);
    CREATE TABLE calc_records (
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
    CREATE INDEX calc_records_user ON calc_records (user_id, kind, started_at);
    CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL UNIQUE,
        key_hash TEXT NOT NULL,
        tenant TEXT NOT NULL DEFAULT 'default',
        created_at TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_log_tenant_id ON audit_log (tenant, id);
    CREATE TABLE sessions (
        key TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL,
        created_at REAL NOT NULL,
        last_seen REAL NOT NULL,
        expires_at REAL NOT NULL,
        remember INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_user ON sessions (user_id);
    CREATE TABLE tenant_settings (
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, name)
    );
"""
RELEASE_ROWS = """
    INSERT INTO users VALUES (5, 'ann', 'scrypt:32768:8:1$salt$00', 'admin', 'acme', 1, '2026-01-01T00:00:00+00:00', 2);
    INSERT INTO alerts (id, tenant, event_id, priority, timestamp, store, dept, risk_score, message, why, status,
        acknowledged_by, acknowledged_at) VALUES (41, 'acme', 'e41', 'HIGH', '2026-01-01T00:00:00.000Z', 1, 2, 70,
        'm', 'w', 'acknowledged', 'ann', '2026-01-01T00:01:00.000Z');
    INSERT INTO api_keys VALUES (3, 'feed', 'abcd1234', 'hash', 'acme', '2026-01-01', 0);
    INSERT INTO audit_log VALUES (9, 'acme', '2026-01-01T00:00:00+00:00', 'ann', 'user.create', 'bob', '{"role": "analyst"}');
    INSERT INTO tenant_settings VALUES ('acme', 'thresholds', '{"medium": 30, "high": 60, "critical": 85}', 'then');
    INSERT INTO sessions VALUES ('k' || hex(randomblob(8)), 5, 1000.0, 1000.0, 9000000000.0, 1);
    INSERT INTO calc_records VALUES ('r1', 5, 'monte_carlo', 'completed', 100, 'done', '{"p50": 1.5}', 10.0, 11.0);
"""


def release_file(path, script):
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.commit()
    conn.close()
    return path


def test_a_database_of_the_last_release_is_upgraded_in_place_with_nothing_lost(tmp_path):
    path = release_file(tmp_path / "pulseboard.db", RELEASE_SCHEMA + RELEASE_ROWS)
    db = Database(path)
    assert current(db) == head()
    ann = UserStore(db).find("ann")
    assert (ann.id, ann.role, ann.tenant) == (5, "admin", "acme")
    [alert] = AlertStore(db).recent("acme")
    assert (alert["id"], alert["status"], alert["acknowledged_by"]) == (41, "acknowledged", "ann")
    assert AlertStore(db).save("acme", [dict(alert, event_id="e42", id=None)])[0]["id"] == 42
    assert [k.prefix for k in ApiKeyStore(db).list("acme")] == ["abcd1234"]
    assert AuditLog(db).recent("acme")[0]["detail"] == {"role": "analyst"}
    assert TenantSettings(db, SourceSettings(True, 5, 0.03)).thresholds("acme").as_tuple() == (30, 60, 85)
    assert SessionStore(db, 3600, 86400, clock=lambda: 1001.0).count(5) == 1
    assert CalcRecords(db, clock=lambda: 12.0).latest(5, "monte_carlo")["result"] == {"p50": 1.5}
    indexes = {r["name"] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"alerts_tenant_id", "alerts_tenant_status_id", "audit_log_tenant_at"} <= indexes
    again = Database(path)                                               # opening again changes nothing
    assert current(again) == head() and len(AlertStore(again).recent("acme")) == 2


def test_the_oldest_layout_gains_every_column_and_table(tmp_path):
    """Alerts before sensor columns (store and dept required) and users before session epochs."""
    path = release_file(tmp_path / "old.db", """
        CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('admin', 'analyst')),
            tenant TEXT NOT NULL DEFAULT 'default', active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
        CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, event_id TEXT NOT NULL,
            priority TEXT NOT NULL, timestamp TEXT NOT NULL, store INTEGER NOT NULL, dept INTEGER NOT NULL,
            risk_score INTEGER NOT NULL, message TEXT NOT NULL, why TEXT NOT NULL, UNIQUE (tenant, event_id));
        CREATE INDEX alerts_tenant_id ON alerts (tenant, id);
        INSERT INTO users VALUES (2, 'old', 'x', 'analyst', 'default', 0, 'then');
        INSERT INTO alerts VALUES (7, 'default', 'e7', 'HIGH', '2026-01-01T00:00:00.000Z', 1, 2, 70, 'm', 'w');""")
    db = Database(path)
    old = UserStore(db).get(2)
    assert old.username == "old" and not old.active
    [alert] = AlertStore(db).recent("default")
    assert (alert["id"], alert["profile"], alert["status"], alert["store"]) == (7, "retail", "open", 1)
    sensor = AlertStore(db).save("default", [{"event_id": "s1", "profile": "sensor", "priority": "CRITICAL",
                                              "timestamp": "2026-01-01T00:00:01.000Z", "asset_id": "pump-01",
                                              "risk_score": 90, "message": "hot", "why": "w"}])
    assert sensor[0]["id"] == 8
    assert SessionStore(db, 3600, 86400).create(2) and CalcRecords(db).start(2, "npv")
    assert db.query(text("SELECT session_epoch FROM users WHERE id = 2"))[0]["session_epoch"] == 0


def test_a_new_database_is_at_the_newest_revision_on_both_backends(database):
    assert current(database) == head()
    UserStore(database).create("ann", "ann-password")
    assert json.loads(json.dumps([dict(r) for r in database.query("SELECT username FROM users")])) == [{"username": "ann"}]


def test_an_unreachable_postgresql_is_one_line_naming_the_url_without_its_password():
    url = f"postgresql+psycopg://pulse:s3cret-pw@127.0.0.1:{free_port()}/pulse"
    with pytest.raises(DatabaseUnreachable) as info:
        Database(url)
    message = str(info.value)
    assert "s3cret-pw" not in message and f"127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert "\n" not in message and "DATABASE_URL" in message
