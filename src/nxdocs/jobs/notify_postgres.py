"""PostgreSQL `LISTEN/NOTIFY`: wake-ups that cross processes and machines."""

from __future__ import annotations

import logging
import os
import select
import threading
from collections.abc import Sequence

import psycopg
import sqlalchemy as sa

from nxdocs.db.backend import Database
from nxdocs.jobs.notify import RESYNC, Fanout
from nxdocs.jobs.wake_throttle import WakeThrottle

log = logging.getLogger(__name__)

CHANNEL = "nxdocs_jobs"
# "Jobs available", as a statement's part: SELECT it beside the statement's work.
AVAILABLE_NOTIFY_SQL = f"pg_notify('{CHANNEL}', '')"
DELIVERIES_CHANNEL = "nxdocs_webhooks"
_RECONNECT_SECONDS = 1.0
# New jobs are announced at most once per window per process (`WakeThrottle`).
_WAKE_WINDOW_SECONDS = 0.02
# "These jobs changed", as a statement's part; `ids` is SQL giving the
# comma-joined ids.
UPDATED_NOTIFY_SQL = f"pg_notify('{CHANNEL}', {{ids}})"
# A notification's payload holds under 8000 bytes; ids are at most 65 characters.
IDS_PER_NOTIFICATION = 100


class PostgresNotifier(Fanout):
    """`pg_notify` inside the writing transaction; one listening connection per process.

    PostgreSQL delivers a notification only when its transaction commits, and
    drops it on rollback, which is exactly the moment listeners should wake.
    Listeners get `RESYNC` once listening starts and whenever the connection
    is lost, because notifications sent while nobody listened are gone.
    """

    def __init__(self, database_url: str, engine: sa.Engine) -> None:
        super().__init__()
        self._dsn = Database.from_url(database_url).libpq_url()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        # Written to by `stop`: the listener waits on it beside its connection, so
        # it ends at once rather than at its next look at the stop flag.
        self._stop_reader, self._stop_writer = os.pipe()
        self._wake = WakeThrottle(engine, self._notify_available, _WAKE_WINDOW_SECONDS)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    def jobs_available(self, connection: sa.Connection) -> None:
        self._wake.announce(connection)

    def wake_in_statement(self, connection: sa.Connection) -> bool:
        """For a statement that makes jobs claimable on its own (in autocommit):
        True when it must send `AVAILABLE_NOTIFY_SQL`'s notification itself."""
        return self._wake.lead(connection.info)

    @staticmethod
    def _notify_available(connection: sa.Connection) -> None:
        connection.exec_driver_sql(f"SELECT {AVAILABLE_NOTIFY_SQL}")

    def deliveries_due(self, connection: sa.Connection) -> None:
        connection.execute(
            sa.text("SELECT pg_notify(:channel, '')"), {"channel": DELIVERIES_CHANNEL}
        )

    def job_updated(self, connection: sa.Connection, job_id: str) -> None:
        connection.execute(
            sa.text("SELECT pg_notify(:channel, :job_id)"), {"channel": CHANNEL, "job_id": job_id}
        )

    def jobs_updated(self, connection: sa.Connection, job_ids: Sequence[str]) -> None:
        # Several ids per notification, comma-separated, within the payload's
        # limit: one notification per batch instead of one per job.
        for start in range(0, len(job_ids), IDS_PER_NOTIFICATION):
            payload = ",".join(job_ids[start : start + IDS_PER_NOTIFICATION])
            connection.execute(
                sa.text("SELECT pg_notify(:channel, :job_ids)"),
                {"channel": CHANNEL, "job_ids": payload},
            )

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._listen_forever, name="pg-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._wake.stop()
        if self._stop.is_set():
            return
        self._stop.set()
        os.write(self._stop_writer, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                return  # it still holds the pipe; the process is ending anyway
        os.close(self._stop_reader)
        os.close(self._stop_writer)

    def _listen_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen_once()
            except psycopg.Error as exc:
                log.warning(
                    "notification listener lost its connection (%s); reconnecting",
                    type(exc).__name__,
                )
            finally:
                self._listening.clear()
                self.publish(RESYNC)
                self.publish_deliveries()
            self._stop.wait(_RECONNECT_SECONDS)

    def _listen_once(self) -> None:
        # TCP keepalives notice a dead peer in about 10 s instead of the kernel's
        # two hours, so listeners are told to resync promptly.
        with psycopg.connect(
            self._dsn,
            autocommit=True,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        ) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            connection.execute(f"LISTEN {DELIVERIES_CHANNEL}")
            self._listening.set()
            self.publish(RESYNC)
            self.publish_deliveries()
            # poll(2), not select(2): an API process holding a thousand long-polls
            # has descriptors past select's limit of 1024.
            readable = select.poll()
            readable.register(connection.fileno(), select.POLLIN)
            readable.register(self._stop_reader, select.POLLIN)
            while not self._stop.is_set():
                # What has arrived (the LISTENs' answers may have brought some),
                # then a wait for the server or `stop`, whichever speaks first. A
                # dead connection is readable too: `notifies` then raises.
                for notification in connection.notifies(timeout=0):
                    if notification.channel == DELIVERIES_CHANNEL:
                        self.publish_deliveries()
                    elif not notification.payload:
                        self.publish(None)
                    else:
                        for job_id in notification.payload.split(","):
                            self.publish(job_id)
                readable.poll()
