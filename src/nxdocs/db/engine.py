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
import time
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from nxdocs.db.backend import Database

SQLITE_BUSY_TIMEOUT_MS = 30_000
_PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "nxdocs_idle_since"
_MIN_IDLE_TRANSACTION_MS = 1000


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


def create_engine(database: Database, *, idle_transaction_timeout_seconds: float = 60.0) -> Engine:
    """The engine for `database`.

    On PostgreSQL, a session left idle inside a transaction for
    `idle_transaction_timeout_seconds` is ended by the server. No nxdocs
    transaction waits on anything but the database, so such a session belongs
    to a process that stalled mid-transaction (stopped, swapped out, a frozen
    VM); ending it releases its row locks, which would otherwise hide the job
    it holds from every reaper and claim (they skip locked rows) for as long
    as the process stays stalled. SQLite has no such remedy: a process stopped
    inside a write transaction holds the file's write lock.
    """
    if database.sqlite_path is not None:
        return _sqlite_engine(database.url, database.sqlite_path)
    engine = sa.create_engine(
        database.url,
        pool_size=10,
        max_overflow=10,
        connect_args=_POSTGRES_CONNECT_ARGS,
    )
    _ping_idle_connections(engine)
    timeout_ms = max(_MIN_IDLE_TRANSACTION_MS, round(idle_transaction_timeout_seconds * 1000))

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: psycopg.Connection[Any], _record: Any) -> None:
        # A session setting, not a connect option: the URL may carry its own
        # `options` (a search_path), which connect_args would replace.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        dbapi_connection.execute(
            "SELECT set_config('idle_in_transaction_session_timeout', %s, false)",
            (str(timeout_ms),),
        )
        dbapi_connection.autocommit = autocommit

    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Test a pooled connection before use only if it sat idle for a while.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip added
    to every unit of work, several per job on the queue's hot path. A
    connection used within the last `_PING_AFTER_IDLE_SECONDS` has just
    worked; should the server go away under it, its next statement fails as
    a disconnect, which invalidates the whole pool, and every caller retries
    its unit of work (workers, maintenance) or answers 503 once (the API).
    A connection idle for longer (a quiet night, a restart in between) is
    pinged first, as before, and replaced if dead (SQLAlchemy's documented
    "pessimistic" recipe: `DisconnectionError` at checkout gets a fresh one).
    """

    @sa.event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _on_checkout(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: Any
    ) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < _PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except psycopg.Error as exc:
            raise sa.exc.DisconnectionError from exc


_READ_ONLY = "nxdocs_read_only"


def read_only(engine: Engine) -> Engine:
    """The same pool, for transactions that only read.

    On SQLite they begin deferred, so a long writer never holds up a read;
    on PostgreSQL this changes nothing.
    """
    return engine.execution_options(**{_READ_ONLY: True})


def _sqlite_engine(url: str, path: Path) -> Engine:
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
