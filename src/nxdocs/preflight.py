"""Checks before a process starts: each failure becomes one line saying what, where,
and what to check, instead of a traceback hundreds of lines long.

- The data directory must be one this process can write (its SQLite file and
  local files live there).
- The database must answer; with a wait, it is retried with backoff first, for
  orchestrated starts where the database comes up after the application.
- The API's port is bound here, before anything else starts, and the socket
  handed to uvicorn: a port in use is found before migrations run or a worker
  process starts, and no other process can take it in between.
"""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
import time
import uuid
from pathlib import Path

import psycopg

from nxdocs.db.backend import Database

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT_SECONDS = 5
_FIRST_RETRY_SECONDS = 0.5
_LONGEST_RETRY_SECONDS = 5.0


class StartupError(Exception):
    """A reason this process cannot start, as one line for its operator."""


def require_writable_directory(path: Path) -> None:
    """Create `path` if needed and prove a file can be written in it."""
    probe = path / f".nxdocs-write-check-{uuid.uuid4().hex}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StartupError(
            f"The data directory {path} is not writable ({_reason(exc)}): choose another "
            "with --data-dir (NXDOCS_DATA_DIR) or let this user write there."
        ) from None


def wait_for_database(database: Database, wait_seconds: float) -> None:
    """Return once the database answers; retry with backoff for up to `wait_seconds`
    (0: one try). Raises `StartupError` when it never did."""
    deadline = time.monotonic() + wait_seconds
    delay = _FIRST_RETRY_SECONDS
    while True:
        reason = _unreachable_because(database)
        if reason is None:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            break
        log.warning("database %s not reachable yet (%s); retrying", database.described(), reason)
        time.sleep(min(delay, left))
        delay = min(delay * 2, _LONGEST_RETRY_SECONDS)
    waited = f" after waiting {wait_seconds:g} s" if wait_seconds else ""
    advice = (
        "check that the directory exists and this user may write the file"
        if database.is_sqlite
        else "check that PostgreSQL is running there and accepts this user, and that "
        "NXDOCS_DATABASE_URL is right"
    )
    hint = "" if wait_seconds else "; --wait-for-database SECONDS waits for it to come up"
    raise StartupError(
        f"Cannot reach the database at {database.described()}{waited} ({reason}): {advice}{hint}."
    )


def _unreachable_because(database: Database) -> str | None:
    """Why a connection cannot be made now, in a few words; None when it can."""
    if database.sqlite_path is not None:
        try:
            sqlite3.connect(database.sqlite_path, timeout=_CONNECT_TIMEOUT_SECONDS).close()
        except sqlite3.Error as exc:
            return str(exc)
        return None
    try:
        psycopg.connect(database.libpq_url(), connect_timeout=_CONNECT_TIMEOUT_SECONDS).close()
    except psycopg.Error as exc:
        return _first_line(str(exc)) or type(exc).__name__
    return None


def bind_listener(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound as uvicorn binds one, and listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening is what holds the port: two sockets with SO_REUSEADDR may both
        # bind it until one listens. Connections wait in the backlog until uvicorn
        # serves them (it listens again, which changes nothing).
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"Port {port} on {host} is in use (another nxdocs, or another program, is "
                "listening there): stop it, or choose another port with --port (NXDOCS_PORT)."
            ) from None
        raise StartupError(
            f"Cannot listen on {host}:{port} ({_reason(exc)}): check --host and --port "
            "(NXDOCS_HOST, NXDOCS_PORT)."
        ) from None
    return sock


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""
