"""Alembic environment: runs on the connection `nxdocs.db.migrate` hands over."""

from __future__ import annotations

from alembic import context

from nxdocs.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
