"""The tables, as SQLAlchemy Core sees them (what the stores query; Alembic revisions create them).

The same definitions serve SQLite and PostgreSQL. Ids of tables that grow without bound (alerts,
the audit log) are BIGINT on PostgreSQL and SQLite's INTEGER rowid alias (AUTOINCREMENT: an id is
never reused) on SQLite. Flags stay integers (0/1), as the first SQLite releases stored them.
A change here needs a new revision in services/storage/migrations/versions.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, CheckConstraint, Column, Float, Index, Integer, LargeBinary, MetaData,
                        PrimaryKeyConstraint, Table, Text, UniqueConstraint, text)

metadata = MetaData()
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


def _id() -> Column:
    return Column("id", BIG_ID, primary_key=True, autoincrement=True)


users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("tenant", Text, nullable=False, server_default="default"),
    Column("active", Integer, nullable=False, server_default=text("1")),
    Column("created_at", Text, nullable=False),
    Column("session_epoch", Integer, nullable=False, server_default=text("0")),   # unused since sessions
    Column("preferences", Text, nullable=False, server_default="{}"),   # JSON: services.security.preferences
    CheckConstraint("role IN ('admin', 'analyst')", name="users_role"),
    sqlite_autoincrement=True,
)

alerts = Table(
    "alerts", metadata,
    _id(),
    Column("tenant", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("profile", Text, nullable=False, server_default="retail"),
    Column("priority", Text, nullable=False),
    Column("timestamp", Text, nullable=False),
    Column("store", Integer),
    Column("dept", Integer),
    Column("asset_id", Text),
    Column("sensor_id", Text),
    Column("sensor_type", Text),
    Column("risk_score", Integer, nullable=False),
    Column("message", Text, nullable=False),
    Column("why", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("acknowledged_by", Text),
    Column("acknowledged_at", Text),
    Column("resolved_by", Text),
    Column("resolved_at", Text),
    UniqueConstraint("tenant", "event_id"),
    Index("alerts_tenant_id", "tenant", "id"),
    Index("alerts_tenant_status_id", "tenant", "status", "id"),      # revision 0002
    Index("alerts_tenant_priority_id", "tenant", "priority", "id"),
    Index("alerts_tenant_asset_id", "tenant", "asset_id", "id"),
    Index("alerts_tenant_store_id", "tenant", "store", "dept", "id"),
    sqlite_autoincrement=True,
)

calc_records = Table(
    "calc_records", metadata,
    Column("id", Text, primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("progress", Integer, nullable=False, server_default=text("0")),
    Column("message", Text, nullable=False, server_default=""),
    Column("result", Text),
    Column("started_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("calc_records_user", "user_id", "kind", "started_at"),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("prefix", Text, nullable=False, unique=True),
    Column("key_hash", Text, nullable=False),
    Column("tenant", Text, nullable=False, server_default="default"),
    Column("created_at", Text, nullable=False),
    Column("revoked", Integer, nullable=False, server_default=text("0")),
    sqlite_autoincrement=True,
)

audit_log = Table(
    "audit_log", metadata,
    _id(),
    Column("tenant", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default="{}"),
    Index("audit_log_tenant_id", "tenant", "id"),
    Index("audit_log_tenant_at", "tenant", "at"),                   # revision 0002
    sqlite_autoincrement=True,
)

sessions = Table(
    "sessions", metadata,
    Column("key", Text, primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("remember", Integer, nullable=False, server_default=text("0")),
    Index("sessions_user", "user_id"),
)

tenant_settings = Table(
    "tenant_settings", metadata,
    Column("tenant", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    PrimaryKeyConstraint("tenant", "name"),
)

# Revision 0003: uploaded files (record + zlib-compressed 1 MB chunks) and the shared secret key.
uploads = Table(
    "uploads", metadata,
    Column("id", Text, primary_key=True),                 # random hex, what the API names
    Column("user_id", Integer, nullable=False),
    Column("tenant", Text, nullable=False),
    Column("uploaded_at", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),            # -1 while the chunks are being written
    Column("stored_at", Float, nullable=False),           # when the row was written (sweeping unfinished ones)
    Column("record", Text, nullable=False),               # the JSON record the API answers
    Index("uploads_user", "user_id", "uploaded_at"),
)

upload_chunks = Table(
    "upload_chunks", metadata,
    Column("upload_id", Text, nullable=False),
    Column("n", Integer, nullable=False),                 # 0, 1, ...: the file's 1 MB chunks in order
    Column("data", LargeBinary, nullable=False),          # zlib-compressed
    PrimaryKeyConstraint("upload_id", "n"),
)

settings = Table(
    "settings", metadata,
    Column("name", Text, primary_key=True),               # secret_key: SECRET_KEY generated once (DATABASE_URL)
    Column("value", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)

# Revision 0004: the stream's history (services/history). Times are epoch seconds (floats: received,
# ts; integers: rollup starts) so ranges are plain numeric comparisons on both databases.
# Revision 0007: raw events in blocks (services/storage/event_blocks.py), one row per tenant x profile x
# minute per write.
history_blocks = Table(
    "history_blocks", metadata,
    _id(),
    Column("tenant", Text, nullable=False),
    Column("profile", Text, nullable=False),              # retail or sensor
    Column("first_received", Float, nullable=False),      # its events' received times span at most SPAN
    Column("last_received", Float, nullable=False),
    Column("first_ts", Float, nullable=False),            # and so do their own timestamps
    Column("last_ts", Float, nullable=False),
    Column("count", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),       # the events' columns (blocks.encode)
    Index("history_blocks_received", "tenant", "profile", "first_received"),
    Index("history_blocks_ts", "tenant", "profile", "first_ts"),
    sqlite_autoincrement=True,
)

history_rollups = Table(
    "history_rollups", metadata,
    Column("tenant", Text, nullable=False),
    Column("scope", Text, nullable=False),                # services.history.scopes: what the row sums up
    Column("bucket", Integer, nullable=False),            # 60 or 3600 seconds
    Column("start", BigInteger, nullable=False),          # epoch seconds, a multiple of bucket
    Column("count", BigInteger, nullable=False),
    Column("total", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("anomalies", BigInteger, nullable=False),
    Column("max_risk", Integer, nullable=False),
    PrimaryKeyConstraint("tenant", "scope", "bucket", "start"),
    Index("history_rollups_start", "bucket", "start"),    # retention
)
