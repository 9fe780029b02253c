"""Apply the Alembic migrations shipped inside the package, once however many nodes start.

Every `nxdocs serve` and `nxdocs worker` migrates on start unless told
`--no-migrate`; `nxdocs db upgrade` does only that. A database already at
this code's newest revision costs one read of `alembic_version`, without a
lock. A database *ahead* of this code (a newer nxdocs migrated it while this
one still runs, as in a rolling upgrade) is left alone with a warning: the
migrations only ever add tables, nullable or defaulted columns and indexes,
so an older nxdocs keeps working on a newer schema.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from nxdocs.db.engine import read_only

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x6E78_646F_6373
"""The advisory lock migrating takes on PostgreSQL; any constant of our own ("nxdocs")."""
HEAD = "head"


class SchemaNotCurrentError(Exception):
    """The database's schema is older than this code's, and this process may not migrate it."""


@dataclass(frozen=True)
class SchemaStatus:
    """Where the database's schema stands against this code's migrations."""

    current: tuple[str, ...]
    """The revisions in `alembic_version`; none for a database never migrated."""
    heads: tuple[str, ...]
    """This code's newest revisions."""
    unknown: tuple[str, ...]
    """The current revisions this code has no migration for: a newer nxdocs wrote them."""

    @property
    def up_to_date(self) -> bool:
        return set(self.current) == set(self.heads)

    @property
    def ahead(self) -> bool:
        return bool(self.unknown)

    def behind_message(self) -> str | None:
        """Why this code cannot run on the schema as it is, in one line; None if it can."""
        if self.up_to_date or self.ahead:
            return None
        fix = "run `nxdocs db upgrade` first"
        if not self.current:
            return f"the database has no nxdocs schema yet: {fix}"
        return (
            f"the database schema is at revision {', '.join(self.current)} and this nxdocs "
            f"needs {', '.join(self.heads)}: {fix}"
        )


def upgrade(engine: Engine, revision: str = HEAD) -> SchemaStatus:
    """Bring the schema up to `revision`; the schema's status as found, before migrating.

    A no-op when the schema is already there, or ahead of this code (logged).
    Processes started together on a new database migrate one after another:
    on PostgreSQL the transaction first takes an advisory lock (released at
    its commit), so the second finds the schema made instead of racing to
    create the same tables; SQLite's transactions already take the write lock
    first (see `nxdocs.db.engine`).
    """
    script = _script()
    before = schema_status(engine, script)
    if _nothing_to_do(before, revision):
        return before
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        # Whoever held the lock before may have migrated, even past this code.
        found = _status(connection, script)
        if _nothing_to_do(found, revision):
            return found
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return found


def require_current(engine: Engine) -> SchemaStatus:
    """For a process that must not migrate: its status, if this code can run on it.

    Raises `SchemaNotCurrentError` when the schema is missing or older; a
    schema ahead of this code is accepted with a warning, as in `upgrade`.
    """
    status = schema_status(engine)
    problem = status.behind_message()
    if problem is not None:
        raise SchemaNotCurrentError(problem)
    _warn_if_ahead(status)
    return status


def schema_status(engine: Engine, script: ScriptDirectory | None = None) -> SchemaStatus:
    """The schema's status, read without locking or writing anything."""
    with read_only(engine).connect() as connection:
        return _status(connection, script or _script())


def _status(connection: sa.Connection, script: ScriptDirectory) -> SchemaStatus:
    current = MigrationContext.configure(connection).get_current_heads()
    known = {revision.revision for revision in script.walk_revisions()}
    return SchemaStatus(
        current=tuple(current),
        heads=tuple(script.get_heads()),
        unknown=tuple(revision for revision in current if revision not in known),
    )


def _nothing_to_do(status: SchemaStatus, revision: str) -> bool:
    _warn_if_ahead(status)
    return status.ahead or (revision == HEAD and status.up_to_date)


def _warn_if_ahead(status: SchemaStatus) -> None:
    if status.ahead:
        log.warning(
            "the database schema is at revision %s, newer than this nxdocs knows (%s); "
            "leaving it as it is (migrations only add to the schema)",
            ", ".join(status.current),
            ", ".join(status.heads),
        )


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())
