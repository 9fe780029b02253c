"""PostgreSQL: "jobs available" at most once per window per process, never left unsaid.

Every listening worker pays for every notification: its backend is signalled
and reads the queue, its listener thread wakes and publishes. One per job
enqueued (a trigger on INSERT, pgqueuer's way) cost a quarter of the CPU of a
no-op job here. A busy worker gains nothing from them, it claims again as
its slots free up; an idle one needs only the first.

So, as River does per queue, a process announces new jobs at most once per
`window`: the first enqueue in a window sends `pg_notify` inside its own
transaction (delivered at its commit, as before); the later ones only ask
for a trailing notification at the end of the window, sent by a thread of
this process once their connection is back in the pool, which is after their
commit (or rollback: a wake-up with nothing new is harmless). A job enqueued
in a burst waits for a worker at most `window` longer; none waits for the
workers' fallback poll.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import ConnectionPoolEntry

from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

_SENT = "nxdocs_available_sent"
_TRAILING = "nxdocs_available_trailing"

Send = Callable[[sa.Connection], None]


class WakeThrottle:
    def __init__(self, engine: sa.Engine, send: Send, window_seconds: float) -> None:
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._send = send
        self._window = window_seconds
        self._changed = threading.Condition()
        self._last_sent = -window_seconds
        self._trailing = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        sa.event.listen(engine, "commit", self._on_end)
        sa.event.listen(engine, "rollback", self._on_end)
        sa.event.listen(engine, "checkin", self._on_checkin)

    def announce(self, connection: sa.Connection) -> None:
        """Called inside the transaction that made jobs claimable."""
        if connection.info.get(_SENT):
            return  # once per transaction is enough
        if self.lead(connection.info):
            self._send(connection)
            connection.info[_SENT] = True

    def lead(self, info: dict[Any, Any]) -> bool:
        """Whether this transaction's statement must send the notification itself
        (the first in its window); if not, the connection whose pool `info` this
        is asks for the trailing one."""
        with self._changed:
            now = time.monotonic()
            leading = now - self._last_sent >= self._window
            if leading:
                self._last_sent = now
        if not leading:
            info[_TRAILING] = True
        return leading

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _on_end(self, connection: sa.Connection) -> None:
        # A connection lost mid-transaction (a server restart) is invalidated and
        # discarded with its `info`; touching it would raise over the real error.
        if not connection.invalidated:
            connection.info.pop(_SENT, None)

    def _on_checkin(self, _dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        if not record.info.pop(_TRAILING, False):
            return
        with self._changed:
            if self._stopping:
                return
            self._trailing = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pg-wake", daemon=True)
                self._thread.start()
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._trailing and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    return
                # Not before the window that throttled it has passed.
                while not self._stopping:
                    left = self._last_sent + self._window - time.monotonic()
                    if left <= 0:
                        break
                    self._changed.wait(left)
                if self._stopping:
                    return
                self._trailing = False
                self._last_sent = time.monotonic()
            self._send_alone()

    def _send_alone(self) -> None:
        try:
            with self._autocommit.connect() as connection:
                self._send(connection)
        except sa.exc.SQLAlchemyError as exc:
            # The database is away: listeners resync when their connection
            # comes back, and workers poll meanwhile.
            log.debug("trailing wake-up not sent (%s)", exception_summary(exc))
