"""Engines for the two supported databases, configured for many writers.

SQLite: WAL so readers never block the writer, a busy timeout so a second
writer waits instead of failing, and every transaction opened with
`BEGIN IMMEDIATE` so it takes the write lock up front. Python's sqlite3
module would otherwise start transactions lazily, and a read that later
upgrades to a write can fail with "database is locked" however long the
timeout (SQLAlchemy's documented recipe for pysqlite). Transactions that only
read go through `read_only(engine)` and begin deferred instead.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


# A lost server must fail a call within seconds, not hang it: a connect waits
# at most 10 s, and TCP keepalives find a dead peer (a machine gone, a
# half-open connection) in about 20 s instead of the kernel's two hours.
_POSTGRES_CONNECT_ARGS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 2,
}


def create_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return sa.create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args=_POSTGRES_CONNECT_ARGS,
    )


_READ_ONLY = "nxdocs_read_only"


def read_only(engine: Engine) -> Engine:
    """The same pool, for transactions that only read.

    On SQLite they begin deferred, so a long writer never holds up a read;
    on PostgreSQL this changes nothing.
    """
    return engine.execution_options(**{_READ_ONLY: True})


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for another database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _sqlite_engine(url: str) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        configure_sqlite_connection(dbapi_connection)
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # deferred: in WAL, never waits for a writer
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def configure_sqlite_connection(connection: sqlite3.Connection) -> None:
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # NORMAL is durable against process crashes in WAL mode; only an OS crash
    # or power loss can drop the last commits.
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
