"""Wake-ups: workers learn of new jobs, API nodes of updated ones, without polling.

Both notifications are hints. Whoever acts on one re-reads the database, and
a fallback poll covers any hint that is lost, so a missed wake-up costs
latency, never correctness.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.pool import ConnectionPoolEntry

Listener = Callable[[str | None], None]
"""Called with an updated job's id, None when new jobs are available, or
`RESYNC` when notifications may have been missed (anything may have changed)."""

RESYNC = "*"


class Notifier(Protocol):
    def jobs_available(self, connection: sa.Connection) -> None:
        """Called inside the transaction that made jobs claimable."""

    def job_updated(self, connection: sa.Connection, job_id: str) -> None:
        """Called inside the transaction that changed what the API shows of a job
        (its progress or its terminal state)."""

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register a listener; returns the function that removes it."""

    @property
    def listening(self) -> bool:
        """True while every notification reaches this process's listeners; when
        False, some may be lost, and caches must not trust their silence."""

    def start(self) -> None:
        """Begin delivering notifications from other processes, if there are any."""

    def stop(self) -> None:
        """Stop delivering them; idempotent."""


class Fanout:
    """Listeners of this process; safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, job_id: str | None) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(job_id)


class InProcessNotifier(Fanout):
    """One process (SQLite): signal this process's listeners once the transaction commits.

    Pending signals ride on the connection and are published when it goes
    back to the pool, which is after the commit has completed (SQLAlchemy's
    "commit" event fires before the database commits, too early for a
    listener that re-reads); a rollback drops them. Other processes on the
    same SQLite file fall back to polling.
    """

    _PENDING = "nxdocs_pending_notifications"

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__()
        sa.event.listen(engine, "rollback", self._on_rollback)
        sa.event.listen(engine, "checkin", self._on_checkin)

    @property
    def listening(self) -> bool:
        return True  # every change this process can hear of is made in it

    def start(self) -> None:
        """Nothing to start: signals never leave the process."""

    def stop(self) -> None:
        """Nothing to stop."""

    def jobs_available(self, connection: sa.Connection) -> None:
        connection.info.setdefault(self._PENDING, {})[None] = None

    def job_updated(self, connection: sa.Connection, job_id: str) -> None:
        connection.info.setdefault(self._PENDING, {})[job_id] = None

    def _on_rollback(self, connection: sa.Connection) -> None:
        if connection.invalidated:
            return  # discarded with its pending signals
        connection.info.pop(self._PENDING, None)

    def _on_checkin(self, _dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        # A dict keeps insertion order and drops repeats of the same signal.
        for job_id in record.info.pop(self._PENDING, {}):
            self.publish(job_id)
