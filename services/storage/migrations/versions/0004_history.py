"""The stream's history: every scored event (raw, kept HISTORY_RAW_HOURS) and per-minute and per-hour
rollups per scope (kept HISTORY_DAYS). services/history reads and writes them.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
EVENT_INDEXES = {
    "history_events_tenant_received": ["tenant", "received"],
    "history_events_tenant_ts": ["tenant", "ts"],
    "history_events_tenant_store": ["tenant", "store", "dept", "received"],
    "history_events_tenant_asset": ["tenant", "asset_id", "sensor_id", "received"],
}


def upgrade() -> None:
    text, real, integer = sa.Text, sa.Float, sa.Integer
    op.create_table(
        "history_events",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", text, nullable=False),
        sa.Column("received", real, nullable=False),
        sa.Column("ts", real, nullable=False),
        sa.Column("timestamp", text, nullable=False),
        sa.Column("event_id", text, nullable=False),
        sa.Column("profile", text, nullable=False),
        sa.Column("store", integer), sa.Column("dept", integer),
        sa.Column("asset_id", text), sa.Column("sensor_id", text), sa.Column("sensor_type", text),
        sa.Column("value", real, nullable=False),
        sa.Column("temperature", real), sa.Column("is_holiday", integer),
        sa.Column("fuel_price", real), sa.Column("cpi", real), sa.Column("unemployment", real),
        sa.Column("unit", text),
        sa.Column("anomaly", integer, nullable=False),
        sa.Column("anomaly_score", real, nullable=False),
        sa.Column("risk_score", integer, nullable=False),
        sa.Column("risk_level", text, nullable=False),
        sa.Column("cluster", integer),
        sa.Column("model_version", integer, nullable=False),
        sqlite_autoincrement=True)
    for name, columns in EVENT_INDEXES.items():
        op.create_index(name, "history_events", columns)
    op.create_table(
        "history_rollups",
        sa.Column("tenant", text, nullable=False),
        sa.Column("scope", text, nullable=False),
        sa.Column("bucket", integer, nullable=False),
        sa.Column("start", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("total", real, nullable=False),
        sa.Column("low", real, nullable=False),
        sa.Column("high", real, nullable=False),
        sa.Column("anomalies", sa.BigInteger, nullable=False),
        sa.Column("max_risk", integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant", "scope", "bucket", "start"))
    op.create_index("history_rollups_start", "history_rollups", ["bucket", "start"])


def downgrade() -> None:
    op.drop_table("history_rollups")
    for name in EVENT_INDEXES:
        op.drop_index(name, table_name="history_events")
    op.drop_table("history_events")
