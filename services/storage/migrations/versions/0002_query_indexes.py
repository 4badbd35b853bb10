"""Indexes for the queries the product runs: alerts by tenant and status, priority or entity (newest
first by id), the audit log by tenant and time.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "alerts_tenant_status_id": ("alerts", ["tenant", "status", "id"]),
    "alerts_tenant_priority_id": ("alerts", ["tenant", "priority", "id"]),
    "alerts_tenant_asset_id": ("alerts", ["tenant", "asset_id", "id"]),
    "alerts_tenant_store_id": ("alerts", ["tenant", "store", "dept", "id"]),
    "audit_log_tenant_at": ("audit_log", ["tenant", "at"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
