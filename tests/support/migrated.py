"""Migrated databases for tests: the migrations run once per test process, each test
gets a copy of what they made.

Alembic loads and runs every revision for each new database: 0.05 s on SQLite and
0.15 s on PostgreSQL on a quiet machine, several times that on a busy one, and the
suite starts well over a thousand systems. A copy costs a few milliseconds: on
SQLite the file the migrations wrote; on PostgreSQL the statements they sent,
recorded once (as the driver received them) and sent again, in one transaction, to
the new schema, whose tables are then exactly the migrations' own. The migrations
themselves, from an empty database, are tested in tests/db (`empty_database_url`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from nxdocs.db.backend import Database
from nxdocs.db.engine import create_engine
from nxdocs.db.migrate import upgrade

Statement = tuple[str, Any]
"""A statement as the driver received it, with its parameters (None: sent without)."""


@dataclass(frozen=True)
class MigratedTemplates:
    sqlite_file: Path
    postgres_statements: tuple[Statement, ...]

    def sqlite_copy(self, target: Path) -> str:
        """A migrated SQLite database at `target`; its URL."""
        shutil.copyfile(self.sqlite_file, target)
        return f"sqlite:///{target}"

    def fill_postgres_schema(self, libpq_url: str, schema: str) -> None:
        """Make in the empty `schema` what the migrations made in theirs."""
        with (
            psycopg.connect(libpq_url, options=f"-csearch_path={schema}") as connection,
            connection.cursor() as cursor,
        ):
            for statement, parameters in self.postgres_statements:
                cursor.execute(statement, parameters)


def migrated_templates(folder: Path, postgres_url: str) -> MigratedTemplates:
    """Run the migrations on a new SQLite file in `folder` and on the PostgreSQL database
    `postgres_url` names (an empty schema of its own), recording what PostgreSQL was sent."""
    sqlite_file = folder / "migrated.db"
    with _engine(f"sqlite:///{sqlite_file}") as engine:
        upgrade(engine)
    with _engine(postgres_url) as engine, _recorded(engine) as statements:
        upgrade(engine)
    return MigratedTemplates(sqlite_file, tuple(statements))


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = create_engine(Database.from_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _recorded(engine: sa.Engine) -> Iterator[list[Statement]]:
    """The statements `engine` sends while the block runs, but the migration lock: a
    copy needs none, and copies made side by side would queue on it."""
    statements: list[Statement] = []

    def record(
        _connection: sa.Connection,
        _cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,
    ) -> None:
        assert not executemany, "the migrations send one statement at a time"
        if "pg_advisory" not in statement:
            statements.append((statement, None if context.no_parameters else parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
