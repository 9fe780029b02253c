"""Apply the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x6E78_646F_6373  # any constant of our own: "nxdocs"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision`; a no-op when it is already there.

    Processes started together on a new database migrate one after another:
    on PostgreSQL the transaction first takes an advisory lock (released at
    its commit), so the second finds the schema made instead of racing to
    create the same tables; SQLite's transactions already take the write lock
    first (see `nxdocs.db.engine`).
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
