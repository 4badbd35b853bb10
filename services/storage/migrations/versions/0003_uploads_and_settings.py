"""Uploads in the database (a record row per upload, the file in zlib-compressed 1 MB chunks) so every
web host reads them, and a `settings` table for installation-wide values (the generated SECRET_KEY).

Uploads kept by earlier releases in DATA_DIR/uploads are imported at the first start after this
revision (services/storage/upload_import.py): a migration does not know DATA_DIR.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        *(sa.Column(name, sa.Text, nullable=False) for name in ("tenant", "uploaded_at")),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("stored_at", sa.Float, nullable=False),
        sa.Column("record", sa.Text, nullable=False))
    op.create_index("uploads_user", "uploads", ["user_id", "uploaded_at"])
    op.create_table(
        "upload_chunks",
        sa.Column("upload_id", sa.Text, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("upload_id", "n"))
    if op.get_bind().dialect.name == "postgresql":     # the chunks are compressed already: no TOAST compression
        op.execute("ALTER TABLE upload_chunks ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "settings",
        *(sa.Column(name, sa.Text, nullable=False) for name in ("name", "value", "updated_at")),
        sa.PrimaryKeyConstraint("name"))


def downgrade() -> None:
    op.drop_table("settings")
    op.drop_table("upload_chunks")
    op.drop_index("uploads_user", table_name="uploads")
    op.drop_table("uploads")
