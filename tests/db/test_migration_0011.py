"""Migration 0011 (`dashboard_sessions`) upgrades and downgrades, on SQLite and PostgreSQL.

`test_schema_drift.py` checks the newest schema against `nxdocs.db.schema`;
this checks that 0011 comes and goes on a database at 0010, leaving the rest
as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import nxdocs.db.migrate
from nxdocs.db.backend import Database
from nxdocs.db.engine import create_engine
from nxdocs.db.migrate import schema_status, upgrade


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[sa.Engine]:
    made = create_engine(Database.from_url(empty_database_url))
    yield made
    made.dispose()


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def downgrade(engine: sa.Engine, revision: str) -> None:
    config = Config()
    migrations = Path(nxdocs.db.migrate.__file__).parent / "migrations"
    config.set_main_option("script_location", str(migrations))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0011_adds_the_sessions_table_and_takes_it_away(engine: sa.Engine) -> None:
    upgrade(engine, "0010")
    before = tables(engine)
    assert "dashboard_sessions" not in before

    upgrade(engine, "0011")
    assert tables(engine) == before | {"dashboard_sessions"}
    inspector = sa.inspect(engine)
    assert inspector.get_pk_constraint("dashboard_sessions")["constrained_columns"] == ["id_hash"]
    [index] = inspector.get_indexes("dashboard_sessions")
    assert (index["name"], index["column_names"]) == (
        "ix_dashboard_sessions_expires",
        ["expires_at"],
    )

    downgrade(engine, "0010")
    assert tables(engine) == before
    assert schema_status(engine).current == ("0010",)
    upgrade(engine)
    assert "dashboard_sessions" in tables(engine)
