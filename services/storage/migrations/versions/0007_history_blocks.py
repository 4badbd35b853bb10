"""Raw history in blocks (services/storage/event_blocks.py): one row per tenant x profile x minute per
write instead of one row and six index entries per event. Existing raw events are moved into blocks,
nothing lost; the downgrade moves them back.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

from services.storage.event_blocks import from_rows, to_rows

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
PAGE = 50_000           # rows moved per round
EVENT_COLUMNS = ("tenant", "received", "ts", "timestamp", "event_id", "profile", "store", "dept", "asset_id",
                 "sensor_id", "sensor_type", "value", "temperature", "is_holiday", "fuel_price", "cpi",
                 "unemployment", "unit", "anomaly", "anomaly_score", "risk_score", "risk_level", "cluster",
                 "model_version")


def _events_table():
    text, real, integer = sa.Text, sa.Float, sa.Integer
    return sa.table("history_events", sa.column("id", BIG_ID),
                    *(sa.column(name, text if name in ("tenant", "timestamp", "event_id", "profile", "asset_id",
                                                        "sensor_id", "sensor_type", "unit", "risk_level")
                                else integer if name in ("store", "dept", "is_holiday", "anomaly", "risk_score",
                                                         "cluster", "model_version") else real)
                      for name in EVENT_COLUMNS))


def _blocks_table():
    return sa.table("history_blocks", sa.column("id", BIG_ID), sa.column("tenant", sa.Text),
                    sa.column("profile", sa.Text),
                    *(sa.column(n, sa.Float) for n in ("first_received", "last_received", "first_ts", "last_ts")),
                    sa.column("count", sa.Integer), sa.column("payload", sa.LargeBinary))


def upgrade() -> None:
    op.create_table(
        "history_blocks",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.Text, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        *(sa.Column(n, sa.Float, nullable=False) for n in ("first_received", "last_received", "first_ts", "last_ts")),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sqlite_autoincrement=True)
    op.create_index("history_blocks_received", "history_blocks", ["tenant", "profile", "first_received"])
    op.create_index("history_blocks_ts", "history_blocks", ["tenant", "profile", "first_ts"])
    conn, events, blocks = op.get_bind(), _events_table(), _blocks_table()
    last = 0
    while True:
        page = conn.execute(sa.select(events).where(events.c.id > last).order_by(events.c.id).limit(PAGE)).mappings().all()
        if not page:
            break
        last = page[-1]["id"]
        conn.execute(blocks.insert(), [block.row() for block in from_rows([dict(r) for r in page])])
    op.drop_table("history_events")


def downgrade() -> None:
    op.create_table(
        "history_events",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        *(sa.Column(name, column.type, nullable=name in ("store", "dept", "asset_id", "sensor_id", "sensor_type",
                                                               "temperature", "is_holiday", "fuel_price", "cpi",
                                                               "unemployment", "unit", "cluster"))
          for name, column in _events_table().c.items() if name != "id"),
        sqlite_autoincrement=True)
    op.create_index("history_events_tenant_received", "history_events", ["tenant", "received"])
    op.create_index("history_events_tenant_ts", "history_events", ["tenant", "ts"])
    for column in ("store", "dept", "asset_id", "sensor_id"):
        op.create_index(f"history_events_by_{column}", "history_events", ["tenant", column, "received"],
                        sqlite_where=sa.text(f"{column} IS NOT NULL"), postgresql_where=sa.text(f"{column} IS NOT NULL"))
    conn, events, blocks = op.get_bind(), _events_table(), _blocks_table()
    last = 0
    while True:
        page = conn.execute(sa.select(blocks.c.id, blocks.c.tenant, blocks.c.profile, blocks.c.payload)
                            .where(blocks.c.id > last).order_by(blocks.c.id).limit(500)).all()
        if not page:
            break
        last = page[-1][0]
        rows = []
        for _, tenant, profile, payload in page:
            rows += to_rows(tenant, profile, payload)
        conn.execute(events.insert(), [{name: r.get(name) for name in EVENT_COLUMNS} for r in rows])
    op.drop_table("history_blocks")
