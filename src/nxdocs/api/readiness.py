"""What `/readyz` checks: the database answers a trivial read within
`DATABASE_TIMEOUT_SECONDS`, and, in a process that runs an embedded worker,
its worker loop is alive."""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio
import anyio.to_thread
import sqlalchemy as sa
from pydantic import BaseModel

from nxdocs.db.backend import Database
from nxdocs.db.engine import read_only
from nxdocs.jobs.runner import EmbeddedWorker
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

DATABASE_TIMEOUT_SECONDS = 2.0
_QUERY = "SELECT 1 FROM jobs LIMIT 1"  # answers, and the schema is there

DatabaseState = Literal["ok", "failed", "timed out"]
WorkerState = Literal["ok", "stopped", "not running here"]


class ReadyChecks(BaseModel):
    database: DatabaseState
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


@dataclass
class Readiness:
    """What `/readyz` checks; the app's lifespan sets `worker` once it runs one."""

    probe: DatabaseProbe
    runs_worker: bool
    worker: EmbeddedWorker | None = field(default=None)

    def worker_state(self) -> WorkerState:
        if not self.runs_worker:
            return "not running here"
        return "ok" if self.worker is not None and self.worker.alive else "stopped"

    async def checks(self) -> ReadyChecks:
        return ReadyChecks(database=await self.probe.check(), worker=self.worker_state())
