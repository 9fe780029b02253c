"""What `/readyz` checks: the database answers a trivial read within
`DATABASE_TIMEOUT_SECONDS`, its schema is the one this code needs (or newer),
and, in a process that runs an embedded worker, its worker loop is alive."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread
import sqlalchemy as sa
from pydantic import BaseModel

from nxdocs.db.backend import Database
from nxdocs.db.engine import read_only
from nxdocs.db.migrate import schema_status
from nxdocs.jobs.runner import EmbeddedWorker
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

DATABASE_TIMEOUT_SECONDS = 2.0
MIGRATIONS_MAX_AGE_SECONDS = 5.0
"""How long the schema's status is reused: probes come every few seconds, and
reading it costs a query and a read of the migration scripts."""
_QUERY = "SELECT 1 FROM jobs LIMIT 1"  # answers, and the schema is there
_REVISIONS = "SELECT version_num FROM alembic_version"  # alembic's own table

DatabaseState = Literal["ok", "failed", "timed out"]
MigrationsState = Literal["ok", "ahead", "behind", "failed", "timed out", "not checked"]
"""`ahead`: a newer nxdocs migrated the schema (a rolling upgrade), which this
code runs on; `behind`: `nxdocs db upgrade` is needed; `not checked`: the
database did not answer."""
WorkerState = Literal["ok", "stopped", "not running here"]


class ReadyChecks(BaseModel):
    database: DatabaseState
    migrations: MigrationsState
    worker: WorkerState


class DatabaseProbe:
    """Runs the trivial read on a thread within the timeout.

    SQLite is probed on a fresh connection to the file (opened read-write, never
    created), so a file deleted or replaced under open connections is noticed;
    PostgreSQL through the engine's pool, which pings on checkout. A probe that
    outlives the timeout is left to finish on its thread, and no new one starts
    until it has, so a hung database cannot take a thread per request.
    """

    def __init__(
        self,
        engine: sa.Engine,
        database: Database,
        timeout_seconds: float = DATABASE_TIMEOUT_SECONDS,
    ) -> None:
        self._engine = engine
        self._sqlite_path = database.sqlite_path
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._abandoned = 0

    async def check(self) -> DatabaseState:
        attempt = _Attempt()
        with self._lock:
            if self._abandoned:
                return "timed out"
        with anyio.move_on_after(self._timeout):
            return await anyio.to_thread.run_sync(self._probe, attempt, abandon_on_cancel=True)
        with self._lock:
            if not attempt.finished:
                attempt.abandoned = True
                self._abandoned += 1
        return "timed out"

    def _probe(self, attempt: _Attempt) -> DatabaseState:
        try:
            if self._sqlite_path is not None:
                _probe_sqlite(self._sqlite_path, self._timeout)
            else:
                with read_only(self._engine).connect() as connection:
                    connection.execute(sa.text(_QUERY))
        except Exception as exc:
            log.warning("readiness: the database did not answer (%s)", exception_summary(exc))
            return "failed"
        finally:
            with self._lock:
                attempt.finished = True
                if attempt.abandoned:
                    self._abandoned -= 1
        return "ok"


@dataclass
class _Attempt:
    finished: bool = False
    abandoned: bool = False


def _probe_sqlite(path: Path, timeout_seconds: float) -> None:
    uri = f"{path.resolve().as_uri()}?mode=rw"
    connection = sqlite3.connect(uri, uri=True, timeout=timeout_seconds)
    try:
        connection.execute(_QUERY).fetchall()
    finally:
        connection.close()


class MigrationsProbe:
    """Where the schema stands against this code's migrations, read on a thread
    within the timeout and reused for `max_age_seconds`.

    The first read is `schema_status`; after it, while the schema stays at this
    code's heads, a read of its revision alone does (alembic's reads parse
    every migration script and log two lines each time). An answer is reused,
    a failure is not. As with `DatabaseProbe`, a read that outlives the
    timeout is left to finish, and none starts until it has.
    """

    def __init__(
        self,
        engine: sa.Engine,
        max_age_seconds: float = MIGRATIONS_MAX_AGE_SECONDS,
        timeout_seconds: float = DATABASE_TIMEOUT_SECONDS,
    ) -> None:
        self._engine = engine
        self._max_age = max_age_seconds
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._reading = False
        self._answer: MigrationsState | None = None
        self._answered_at = 0.0
        self._heads: frozenset[str] | None = None

    async def check(self) -> MigrationsState:
        with self._lock:
            if self._answer is not None and time.monotonic() - self._answered_at < self._max_age:
                return self._answer
            if self._reading:
                return "timed out"
            self._reading = True
        with anyio.move_on_after(self._timeout):
            return await anyio.to_thread.run_sync(self._read, abandon_on_cancel=True)
        return "timed out"

    def _read(self) -> MigrationsState:
        state: MigrationsState
        try:
            state = self._state()
        except Exception as exc:
            log.warning("readiness: the schema was not read (%s)", exception_summary(exc))
            state = "failed"
        with self._lock:
            self._reading = False
            if state != "failed":
                self._answer, self._answered_at = state, time.monotonic()
        return state

    def _state(self) -> MigrationsState:
        if self._heads is not None:
            with read_only(self._engine).connect() as connection:
                current = connection.execute(sa.text(_REVISIONS)).scalars().all()
            if frozenset(current) == self._heads:
                return "ok"
        status = schema_status(self._engine)
        self._heads = frozenset(status.heads)
        return "ahead" if status.ahead else "ok" if status.up_to_date else "behind"


@dataclass
class Readiness:
    """What `/readyz` checks; the app's lifespan sets `worker` once it runs one."""

    probe: DatabaseProbe
    migrations: MigrationsProbe
    runs_worker: bool
    worker: EmbeddedWorker | None = field(default=None)

    def worker_state(self) -> WorkerState:
        if not self.runs_worker:
            return "not running here"
        return "ok" if self.worker is not None and self.worker.alive else "stopped"

    async def checks(self) -> ReadyChecks:
        database = await self.probe.check()
        # The schema is read only from a database that just answered.
        migrations = await self.migrations.check() if database == "ok" else "not checked"
        return ReadyChecks(database=database, migrations=migrations, worker=self.worker_state())
