"""Wake-ups: workers learn of new jobs and webhook deliveries, API nodes of updated
jobs, without polling.

Both notifications are hints. Whoever acts on one re-reads the database, and
a fallback poll covers any hint that is lost, so a missed wake-up costs
latency, never correctness.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.pool import ConnectionPoolEntry

from nxdocs.logs import exception_summary

Listener = Callable[[str | None], None]
"""Called with an updated job's id, None when new jobs are available, or
`RESYNC` when notifications may have been missed (anything may have changed)."""

RESYNC = "*"
log = logging.getLogger(__name__)
_WATCH_SECONDS = 0.01


class Notifier(Protocol):
    def jobs_available(self, connection: sa.Connection) -> None:
        """Called inside the transaction that made jobs claimable."""

    def job_updated(self, connection: sa.Connection, job_id: str) -> None:
        """Called inside the transaction that changed what the API shows of a job
        (its progress or its terminal state)."""

    def jobs_updated(self, connection: sa.Connection, job_ids: Sequence[str]) -> None:
        """`job_updated` for several jobs at once (a batch of completions)."""

    def deliveries_due(self, connection: sa.Connection) -> None:
        """Called inside the transaction that queued webhook deliveries."""

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register a listener; returns the function that removes it."""

    def subscribe_deliveries(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Register a listener of `deliveries_due`; returns the function that removes it."""

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
        self._delivery_listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._add(self._listeners, listener)

    def subscribe_deliveries(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self._add(self._delivery_listeners, listener)

    def _add(self, listeners: list[Any], listener: Any) -> Callable[[], None]:
        with self._lock:
            listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in listeners:
                    listeners.remove(listener)

        return unsubscribe

    def publish_deliveries(self) -> None:
        with self._lock:
            listeners = list(self._delivery_listeners)
        for listener in listeners:
            try:
                listener()
            except Exception as exc:
                log.warning("a delivery listener failed (%s)", exception_summary(exc))

    def publish(self, job_id: str | None) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            # One failing listener (a waiter whose event loop has closed) must
            # not keep the others from hearing, nor end the thread publishing.
            try:
                listener(job_id)
            except Exception as exc:
                log.warning("a change listener failed (%s)", exception_summary(exc))


class InProcessNotifier(Fanout):
    """SQLite: signal this process's listeners once the transaction commits, and
    notice the commits of other processes on the same file.

    Pending signals ride on the connection and are published when it goes
    back to the pool, which is after the commit has completed (SQLAlchemy's
    "commit" event fires before the database commits, too early for a
    listener that re-reads); a rollback drops them.

    Other processes (`nxdocs serve` and its worker process, or several
    `nxdocs worker`s) cannot signal this one, so once started a thread reads
    the file's `PRAGMA data_version` every `_WATCH_SECONDS`, which changes
    whenever any other connection commits, and publishes `RESYNC` when it
    does: workers then claim, waiters re-read. A cheap read of a counter, it
    stands in for PostgreSQL's LISTEN/NOTIFY.
    """

    _PENDING = "nxdocs_pending_notifications"
    _DELIVERIES = "nxdocs_pending_deliveries"

    def __init__(self, engine: sa.Engine, watch: Path | None = None) -> None:
        super().__init__()
        sa.event.listen(engine, "rollback", self._on_rollback)
        sa.event.listen(engine, "checkin", self._on_checkin)
        self._watch = watch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        return True  # changes made here are signalled; others' are noticed within moments

    def start(self) -> None:
        if self._watch is None or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._watch_file, args=(self._watch,), name="sqlite-watch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch_file(self, path: Path) -> None:
        # A data version is comparable only with one read on the same connection.
        connection: sqlite3.Connection | None = None
        last = None
        try:
            while not self._stop.wait(_WATCH_SECONDS):
                try:
                    if connection is None:
                        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
                    version = connection.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:
                    if connection is not None:
                        connection.close()
                    connection, last = None, None  # busy or briefly gone: start again
                    continue
                if last is not None and version != last:
                    self.publish(RESYNC)
                    self.publish_deliveries()
                last = version
        finally:
            if connection is not None:
                connection.close()

    def jobs_available(self, connection: sa.Connection) -> None:
        connection.info.setdefault(self._PENDING, {})[None] = None

    def job_updated(self, connection: sa.Connection, job_id: str) -> None:
        connection.info.setdefault(self._PENDING, {})[job_id] = None

    def jobs_updated(self, connection: sa.Connection, job_ids: Sequence[str]) -> None:
        pending = connection.info.setdefault(self._PENDING, {})
        for job_id in job_ids:
            pending[job_id] = None

    def deliveries_due(self, connection: sa.Connection) -> None:
        connection.info[self._DELIVERIES] = True

    def _on_rollback(self, connection: sa.Connection) -> None:
        if connection.invalidated:
            return  # discarded with its pending signals
        connection.info.pop(self._PENDING, None)
        connection.info.pop(self._DELIVERIES, None)

    def _on_checkin(self, _dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        # A dict keeps insertion order and drops repeats of the same signal.
        for job_id in record.info.pop(self._PENDING, {}):
            self.publish(job_id)
        if record.info.pop(self._DELIVERIES, False):
            self.publish_deliveries()
