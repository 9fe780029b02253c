"""PostgreSQL `LISTEN/NOTIFY`: wake-ups that cross processes and machines."""

from __future__ import annotations

import logging
import threading

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from nxdocs.jobs.notify import Fanout

log = logging.getLogger(__name__)

CHANNEL = "nxdocs_jobs"
_RECONNECT_SECONDS = 1.0
_STOP_CHECK_SECONDS = 0.5


class PostgresNotifier(Fanout):
    """`pg_notify` inside the writing transaction; one listening connection per process.

    PostgreSQL delivers a notification only when its transaction commits, and
    drops it on rollback, which is exactly the moment listeners should wake.
    """

    def __init__(self, database_url: str) -> None:
        super().__init__()
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def jobs_available(self, connection: sa.Connection) -> None:
        connection.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})

    def job_finished(self, connection: sa.Connection, job_id: str) -> None:
        connection.execute(
            sa.text("SELECT pg_notify(:channel, :job_id)"), {"channel": CHANNEL, "job_id": job_id}
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen_forever, name="pg-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _listen_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen_once()
            except psycopg.Error as exc:
                log.warning(
                    "notification listener lost its connection (%s); reconnecting",
                    type(exc).__name__,
                )
                # Anything signalled while we were away is found by the fallback poll;
                # waking everyone now makes that happen at once.
                self.publish(None)
                self._stop.wait(_RECONNECT_SECONDS)

    def _listen_once(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            while not self._stop.is_set():
                for notification in connection.notifies(timeout=_STOP_CHECK_SECONDS):
                    self.publish(notification.payload or None)
