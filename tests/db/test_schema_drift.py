"""The Alembic migrations and `nxdocs.db.schema` describe the same tables.

Both are written by hand; this upgrades an empty database to the newest
migration, on SQLite and PostgreSQL, and asks Alembic to compare the result
with the metadata the code uses. The suite's other tests run on copies of a
database migrated once (tests/support/migrated.py): those are compared too,
and must be at the newest revision with nothing left to run.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nxdocs.db.backend import Database
from nxdocs.db.engine import create_engine
from nxdocs.db.migrate import schema_status, upgrade
from nxdocs.db.schema import metadata


def differences(engine: sa.Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        found: list[Any] = compare_metadata(context, metadata)
        return found


def test_the_migrated_database_matches_the_schema(empty_database_url: str) -> None:
    engine = create_engine(Database.from_url(empty_database_url))
    try:
        upgrade(engine)
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_the_suites_migrated_copies_match_the_schema_and_are_current(database_url: str) -> None:
    engine = create_engine(Database.from_url(database_url))
    try:
        assert schema_status(engine).up_to_date
        assert differences(engine) == []
    finally:
        engine.dispose()
