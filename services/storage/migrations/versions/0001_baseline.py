"""The schema of the last release before Alembic (seven tables), and the adoption of its databases.

A database without an alembic_version table was made by an earlier release (SQLite only): its
tables stay, with their rows, and are brought up to this schema by the steps the old
`Database._migrate` ran (each only when its marker column is missing):

1: alerts gained sensor events (profile, asset_id, sensor_id, sensor_type; store and dept may be
   empty). SQLite cannot relax NOT NULL in place, so the table is rebuilt, ids kept.
2: alerts gained a workflow (status, who acknowledged or resolved them and when): existing alerts
   become 'open' with nobody recorded.
3: users gained a session epoch (unused since server-side sessions; kept for the schema's sake).
Tables it lacks (sessions, calc_records, ...) are created. A new database gets every table.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
ALERT_COLUMNS_V0 = "id, tenant, event_id, priority, timestamp, store, dept, risk_score, message, why"


def _users():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.Text, nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("tenant", sa.Text, nullable=False, server_default="default"),
        sa.Column("active", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("session_epoch", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.CheckConstraint("role IN ('admin', 'analyst')", name="users_role"),
        sqlite_autoincrement=True)


def _alerts():
    op.create_table(
        "alerts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("tenant", "event_id")),
        sa.Column("profile", sa.Text, nullable=False, server_default="retail"),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("priority", "timestamp")),
        *(sa.Column(name, sa.Integer) for name in ("store", "dept")),
        *(sa.Column(name, sa.Text) for name in ("asset_id", "sensor_id", "sensor_type")),
        sa.Column("risk_score", sa.Integer, nullable=False),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("message", "why")),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        *(sa.Column(name, sa.Text) for name in ("acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at")),
        sa.UniqueConstraint("tenant", "event_id"),
        sqlite_autoincrement=True)
    op.create_index("alerts_tenant_id", "alerts", ["tenant", "id"])


def _calc_records():
    op.create_table(
        "calc_records",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("kind", "status")),
        sa.Column("progress", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("result", sa.Text),
        *(sa.Column(name, sa.Float, nullable=False) for name in ("started_at", "updated_at")))
    op.create_index("calc_records_user", "calc_records", ["user_id", "kind", "started_at"])


def _api_keys():
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False, unique=True),
        sa.Column("key_hash", sa.Text, nullable=False),
        sa.Column("tenant", sa.Text, nullable=False, server_default="default"),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("revoked", sa.Integer, nullable=False, server_default=sa.text("0")),
        sqlite_autoincrement=True)


def _audit_log():
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("tenant", "at", "actor", "action")),
        sa.Column("target", sa.Text, nullable=False, server_default=""),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sqlite_autoincrement=True)
    op.create_index("audit_log_tenant_id", "audit_log", ["tenant", "id"])


def _sessions():
    op.create_table(
        "sessions",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        *(sa.Column(name, sa.Float, nullable=False) for name in ("created_at", "last_seen", "expires_at")),
        sa.Column("remember", sa.Integer, nullable=False, server_default=sa.text("0")))
    op.create_index("sessions_user", "sessions", ["user_id"])


def _tenant_settings():
    op.create_table(
        "tenant_settings",
        *(sa.Column(name, sa.Text, nullable=False) for name in ("tenant", "name", "value", "updated_at")),
        sa.PrimaryKeyConstraint("tenant", "name"))


TABLES = {"users": _users, "alerts": _alerts, "calc_records": _calc_records, "api_keys": _api_keys,
          "audit_log": _audit_log, "sessions": _sessions, "tenant_settings": _tenant_settings}


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _adopt(existing: set[str]) -> None:
    """Bring the tables of a pre-Alembic (SQLite) database up to this schema, rows kept."""
    if "alerts" in existing and "profile" not in _columns("alerts"):
        op.execute("ALTER TABLE alerts RENAME TO alerts_v0")
        op.execute("DROP INDEX IF EXISTS alerts_tenant_id")
        _alerts()
        op.execute(f"INSERT INTO alerts ({ALERT_COLUMNS_V0}) SELECT {ALERT_COLUMNS_V0} FROM alerts_v0")
        op.execute("DROP TABLE alerts_v0")
    if "alerts" in existing and "status" not in _columns("alerts"):
        op.add_column("alerts", sa.Column("status", sa.Text, nullable=False, server_default="open"))
        for name in ("acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at"):
            op.add_column("alerts", sa.Column(name, sa.Text))
    if "users" in existing and "session_epoch" not in _columns("users"):
        op.add_column("users", sa.Column("session_epoch", sa.Integer, nullable=False, server_default=sa.text("0")))


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names()) & set(TABLES)
    _adopt(existing)
    for name, create in TABLES.items():
        if name not in existing:
            create()


def downgrade() -> None:
    for name in reversed(list(TABLES)):
        op.drop_table(name)
