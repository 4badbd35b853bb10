"""The history's filtered raw reads get an index each: (tenant, store, received), (tenant, dept,
received), (tenant, asset_id, received) and (tenant, sensor_id, received), each partial (only the rows
that have that field, so a retail row still updates four indexes and a sensor row four). They replace
(tenant, store, dept, received) and (tenant, asset_id, sensor_id, received), which a dept-only or
sensor-only filter could not use and a store-only one only by scanning all of that store's history
(bench/history.py: a 1 h raw range of one dept read 52,000 index entries and their rows).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

FILTERED = ("store", "dept", "asset_id", "sensor_id")
REPLACED = {"history_events_tenant_store": ["tenant", "store", "dept", "received"],
            "history_events_tenant_asset": ["tenant", "asset_id", "sensor_id", "received"]}


def upgrade() -> None:
    for name in REPLACED:
        op.drop_index(name, table_name="history_events")
    for column in FILTERED:
        present = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"history_events_by_{column}", "history_events", ["tenant", column, "received"],
                        sqlite_where=present, postgresql_where=present)


def downgrade() -> None:
    for column in FILTERED:
        op.drop_index(f"history_events_by_{column}", table_name="history_events")
    for name, columns in REPLACED.items():
        op.create_index(name, "history_events", columns)
