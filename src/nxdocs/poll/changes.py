"""Asyncio waits for a job's next change, woken by the process's change notifications.

Every waiter in a process (sync creates, long-polls, event streams) registers
here instead of holding a database connection: the notifier's one listening
connection (PostgreSQL) or its file watch (SQLite) wakes exactly the waiters
of the job that changed, and `RESYNC` wakes them all. A wake is a hint to
re-read the job: a waiter registers before its first read, so a change that
lands between that read and the wait still wakes it.

On SQLite a commit of another process arrives as `RESYNC` (the file
changed, nothing says what), many times a second on a busy server. Waking
every waiter for each would have them all re-read their jobs each time, so
with `versions` given, a `RESYNC` reads the watched jobs' versions in one
query instead and wakes only the waiters of jobs that changed since the last
look (or that it has not looked at yet, or that are gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable

from nxdocs.jobs.notify import RESYNC, Listener
from nxdocs.logs import exception_summary

_Waiting = tuple[asyncio.AbstractEventLoop, asyncio.Event]
Versions = Callable[[list[str]], dict[str, object]]
"""Job ids to a value that changes whenever what the API shows of the job does;
a job that does not exist is left out."""
log = logging.getLogger(__name__)
_GONE = object()  # the version of a job that no longer exists


class JobChanges:
    """Who waits on which job; the notifier calls `on_notification` from its thread."""

    def __init__(
        self,
        subscribe: Callable[[Listener], Callable[[], None]],
        versions: Versions | None = None,
    ) -> None:
        self._waiting: defaultdict[str, list[_Waiting]] = defaultdict(list)
        self._lock = threading.Lock()
        self._versions = versions
        self._seen: dict[str, object] = {}  # the versions the last RESYNC read
        self._looking = threading.Lock()
        self.unsubscribe = subscribe(self.on_notification)

    def watch(self, job_id: str) -> JobWatch:
        """Register now; the watch's event is set on every change of the job from here on."""
        return JobWatch(self, job_id)

    def _add(self, job_id: str, entry: _Waiting) -> None:
        with self._lock:
            self._waiting[job_id].append(entry)

    def _remove(self, job_id: str, entry: _Waiting) -> None:
        with self._lock:
            entries = self._waiting.get(job_id)
            if entries is None:
                return
            entries.remove(entry)
            if not entries:
                del self._waiting[job_id]

    @property
    def waiting(self) -> int:
        """Watches registered now, over all jobs."""
        with self._lock:
            return sum(len(entries) for entries in self._waiting.values())

    def on_notification(self, job_id: str | None) -> None:
        if job_id is None:
            return  # new jobs: nobody waits for those
        if job_id == RESYNC:
            targets = self._changed_jobs_waiters()
        else:
            with self._lock:
                targets = list(self._waiting.get(job_id, ()))
        for loop, event in targets:
            # A closed loop raises RuntimeError: its waiter is gone with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def _changed_jobs_waiters(self) -> list[_Waiting]:
        with self._lock:
            watched = list(self._waiting)
        changed = set(watched)
        if self._versions is None or not watched:
            return self._waiters_of(changed)
        # One look at a time: RESYNCs can come from two threads (the file watch,
        # and retention in an embedded worker).
        with self._looking:
            try:
                now = self._versions(watched)
            except Exception as exc:  # wake them all: each re-reads on its own
                log.warning("job versions not read (%s)", exception_summary(exc))
                self._seen = {}
            else:
                found = {job: now.get(job, _GONE) for job in watched}
                changed = {job for job in watched if self._seen.get(job) != found[job]}
                self._seen = found
        return self._waiters_of(changed)

    def _waiters_of(self, jobs: set[str]) -> list[_Waiting]:
        with self._lock:
            return [entry for job in jobs for entry in self._waiting.get(job, ())]


class JobWatch:
    """One waiter's registration: use with `with`, wait with `changed`."""

    def __init__(self, changes: JobChanges, job_id: str) -> None:
        self._changes = changes
        self._job_id = job_id
        self._event = asyncio.Event()
        self._entry = (asyncio.get_running_loop(), self._event)

    def __enter__(self) -> JobWatch:
        self._changes._add(self._job_id, self._entry)
        return self

    def __exit__(self, *_: object) -> None:
        self._changes._remove(self._job_id, self._entry)

    def wake(self) -> None:
        """End the current (or next) `changed` wait now, as a change would."""
        self._event.set()

    async def changed(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a change since the last call; True if one came."""
        if not self._event.is_set():
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return False
        self._event.clear()
        return True
