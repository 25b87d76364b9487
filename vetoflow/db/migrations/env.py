"""Alembic environment: always run from code (vetoflow.db.migrate) on a connection it hands in."""

from __future__ import annotations

from alembic import context

from vetoflow.db.migrations import VERSION_TABLE
from vetoflow.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs go through table copies
)
with context.begin_transaction():
    context.run_migrations()
