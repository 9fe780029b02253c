"""The Alembic migrations and `nxdocs.db.schema` describe the same tables.

Both are written by hand; this upgrades an empty database to the newest
migration, on SQLite and PostgreSQL, and asks Alembic to compare the result
with the metadata the code uses.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nxdocs.db.backend import Database
from nxdocs.db.engine import create_engine
from nxdocs.db.migrate import upgrade
from nxdocs.db.schema import metadata


def test_the_migrated_database_matches_the_schema(database_url: str) -> None:
    engine = create_engine(Database.from_url(database_url))
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
