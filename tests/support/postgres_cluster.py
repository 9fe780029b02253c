"""The real local PostgreSQL cluster, restarted by tests that need a database outage.

The cluster is the Debian one the suite already runs on (127.0.0.1:5432,
managed with `pg_ctlcluster`). A restart affects every database and schema in
it, which is fine as long as tests run one at a time. Whatever happens in the
test, `restored_cluster` leaves the cluster accepting connections again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support.waiting import wait_until

HOST, PORT = "127.0.0.1", 5432
CONFIG_DIR = Path("/etc/postgresql")
COMMAND_TIMEOUT = 120.0
READY_TIMEOUT = 60.0


def cannot_restart(database_url: str) -> str | None:
    """Why this machine cannot restart the cluster behind `database_url`; None if it can."""
    url = make_url(database_url)
    if (url.host, url.port or PORT) != (HOST, PORT):
        return f"the test database is not the local cluster on {HOST}:{PORT}"
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_isready") is None:
        return "pg_ctlcluster or pg_isready is not installed"
    if not CONFIG_DIR.is_dir() or len(list(CONFIG_DIR.iterdir())) != 1:
        return f"{CONFIG_DIR} does not hold exactly one PostgreSQL version"
    if os.geteuid() != 0:
        return "restarting the cluster needs root"
    return None


def is_ready() -> bool:
    checked = subprocess.run(
        ["pg_isready", "-q", "-h", HOST, "-p", str(PORT)],
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    return checked.returncode == 0


def control(action: str) -> subprocess.CompletedProcess[str]:
    (version,) = (path.name for path in CONFIG_DIR.iterdir())
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@dataclass
class Restart:
    """When the restart command ran (time.monotonic()), once it has."""

    started: float | None = None
    finished: float | None = None


def restart(record: Restart) -> None:
    """Restart the cluster (fast shutdown: every connection is cut) and wait until it is up."""
    record.started = time.monotonic()
    done = control("restart")
    record.finished = time.monotonic()
    assert done.returncode == 0, f"pg_ctlcluster restart failed:\n{done.stdout}\n{done.stderr}"
    wait_until(is_ready, timeout=READY_TIMEOUT, interval=0.2)


def ensure_running() -> None:
    """Start the cluster if it is not accepting connections, and wait until it does."""
    if is_ready():
        return
    started = control("start")
    # "already running" is not an error here: it may still be starting up.
    if started.returncode != 0 and "already running" not in started.stderr:
        raise AssertionError(f"pg_ctlcluster start failed:\n{started.stdout}\n{started.stderr}")
    wait_until(is_ready, timeout=READY_TIMEOUT, interval=0.2)


@contextmanager
def restored_cluster() -> Iterator[None]:
    """A block that may restart the cluster; afterwards it is up, whatever happened."""
    try:
        yield
    finally:
        ensure_running()
