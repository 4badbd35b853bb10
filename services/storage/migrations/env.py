"""Alembic's environment: runs on the connection services.storage.migrate hands over (already in a
transaction, holding the migration lock), against the tables of services/storage/schema.py."""
from alembic import context

from services.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
