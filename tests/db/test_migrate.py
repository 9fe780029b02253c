"""`upgrade` and `require_current` against a database behind, at and ahead of this code.

In process, on SQLite and PostgreSQL (a schema of its own per test); the
processes started together are in `test_migrate_processes.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from nxdocs.db.backend import Database
from nxdocs.db.engine import create_engine
from nxdocs.db.migrate import (
    SchemaNotCurrentError,
    SchemaStatus,
    require_current,
    schema_status,
    upgrade,
)

NEWER = "9001"
"""A revision this code has no migration for, as a newer nxdocs would write."""


@pytest.fixture
def engine(empty_database_url: str) -> Iterator[sa.Engine]:
    made = create_engine(Database.from_url(empty_database_url))
    yield made
    made.dispose()


def stamp(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_a_new_database_is_migrated_then_left_alone(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alembic")
    assert upgrade(engine).current == ()
    assert "Running upgrade 0001 -> 0002" in caplog.text
    caplog.clear()
    again = upgrade(engine)
    assert again.up_to_date
    assert again.current == again.heads == schema_status(engine).heads
    # Up to date: no migration ran, not even Alembic's command.
    assert "Running upgrade" not in caplog.text


def test_a_missing_schema_stops_a_process_that_may_not_migrate(engine: sa.Engine) -> None:
    with pytest.raises(SchemaNotCurrentError, match="no nxdocs schema yet") as refused:
        require_current(engine)
    assert "run `nxdocs db upgrade`" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_an_older_schema_names_both_revisions(engine: sa.Engine) -> None:
    upgrade(engine, "0005")
    with pytest.raises(SchemaNotCurrentError, match="at revision 0005") as refused:
        require_current(engine)
    assert f"needs {schema_status(engine).heads[0]}" in str(refused.value)
    upgrade(engine)
    assert require_current(engine).up_to_date


def test_a_newer_schema_is_left_as_it_is_with_a_warning(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    upgrade(engine)
    stamp(engine, NEWER)
    with caplog.at_level(logging.WARNING, logger="nxdocs.db.migrate"):
        found = upgrade(engine)
        assert require_current(engine) == found
    assert (found.ahead, found.unknown) == (True, (NEWER,))
    assert caplog.text.count(f"at revision {NEWER}, newer than this nxdocs") == 2
    with engine.connect() as connection:
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(NEWER,)]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (SchemaStatus((), ("0042",), ()), "the database has no nxdocs schema yet"),
        (SchemaStatus(("0003",), ("0042",), ()), "at revision 0003 and this nxdocs needs 0042"),
        (SchemaStatus(("0042",), ("0042",), ()), None),
        (SchemaStatus((NEWER,), ("0042",), (NEWER,)), None),
    ],
)
def test_which_schemas_a_process_can_run_on(status: SchemaStatus, message: str | None) -> None:
    problem = status.behind_message()
    if message is None:
        assert problem is None
    else:
        assert problem is not None
        assert message in problem
