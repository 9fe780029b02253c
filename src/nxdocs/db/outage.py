"""Which database errors are outages (retry shortly) rather than bugs or bad input.

A PostgreSQL restart or failover, an exhausted connection pool, or a SQLite
file that is locked or gone is not a bug: the same statement will likely work
in a moment. The API answers such errors with 503 and Retry-After; anything
else stays a bug (500). PostgreSQL errors are told apart by SQLSTATE, since
psycopg's `OperationalError` also covers a cancelled statement or a program
limit, which no retry fixes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import psycopg
from sqlalchemy import exc as sa_exc

# Connection exceptions (class 08); the server shutting down, crashed or still
# starting (57P01-57P03); too many connections (53300); a transaction that
# meets a read-only server, as after a failover to a standby (25006).
_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "25006"})

# SQLite errors that are about the file or its lock, not about the statement
# ("no such table" is an OperationalError too, and a bug).
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
)


def is_outage(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) says the database is unreachable, not that we erred."""
    return any(_is_outage(error) for error in _wrapped(exc))


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        if state is None:
            # Raised by the client itself: a refused, lost or timed-out connection.
            return isinstance(error, psycopg.OperationalError)
        return state.startswith("08") or state in _OUTAGE_SQLSTATES
    if isinstance(error, sqlite3.OperationalError):
        return str(error).lower().startswith(_SQLITE_UNAVAILABLE)
    return False


def _wrapped(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, the driver error SQLAlchemy wraps, explicit causes, and group members."""
    pending, seen = [exc], set()
    while pending:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        if isinstance(error, sa_exc.DBAPIError) and isinstance(error.orig, BaseException):
            pending.append(error.orig)
        if error.__cause__ is not None:
            pending.append(error.__cause__)
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
