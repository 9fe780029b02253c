"""SQLite poll reads, made on the event loop thread itself.

A primary-key read in WAL mode never waits for writers and takes microseconds,
less than handing it to a thread pool would cost, so it runs inline. The
connection belongs to the event loop's thread and is read-only.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from nxdocs.db.engine import configure_sqlite_connection
from nxdocs.poll.public import JOB_COLUMNS, JobRow

_SQL = f"SELECT owner_id, {JOB_COLUMNS} FROM jobs WHERE id = ?"  # noqa: S608 (constant)


class SqliteJobReader:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._connection = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False
        )
        configure_sqlite_connection(self._connection)
        self._connection.execute("PRAGMA query_only=ON")

    async def read(self, job_id: str) -> tuple[str, JobRow] | None:
        if self._connection is None:
            raise RuntimeError("SqliteJobReader.read() before open()")
        row = self._connection.execute(_SQL, (job_id,)).fetchone()
        return None if row is None else (row[0], JobRow(*row[1:]))

    def data_version(self) -> int:
        """Changes whenever another connection commits (see `JobCache`)."""
        if self._connection is None:
            return -1
        version: int = self._connection.execute("PRAGMA data_version").fetchone()[0]
        return version

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class SqliteJobVersions:
    """What `JobChanges` compares on a `RESYNC`: each job's state, progress and
    `updated_at`, read in one query per 500 ids on a connection of its own
    (it is called from the notifier's watch thread, never the event loop's)."""

    _CHUNK = 500

    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None

    def read(self, job_ids: list[str]) -> dict[str, object]:
        if self._connection is None:
            self._connection = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False
            )
            configure_sqlite_connection(self._connection)
            self._connection.execute("PRAGMA query_only=ON")
        found: dict[str, object] = {}
        for start in range(0, len(job_ids), self._CHUNK):
            chunk = job_ids[start : start + self._CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._connection.execute(
                "SELECT id, state, updated_at, progress_done, progress_total "  # noqa: S608
                f"FROM jobs WHERE id IN ({marks})",
                chunk,
            )
            for row in rows:
                found[row[0]] = row[1:]
        return found

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
