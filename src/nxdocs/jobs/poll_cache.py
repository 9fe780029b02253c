"""Serialised job objects kept in the API process, coherent through change notifications.

A poll costs no database read while the job is unchanged. Two ways keep it
coherent, one per database:
- PostgreSQL: every change to what the API shows arrives as a `job_updated`
  notification (LISTEN/NOTIFY) and evicts that entry; nothing is served while
  the listener is disconnected.
- SQLite: `version` is the reader connection's `PRAGMA data_version`, which
  changes whenever any other connection, in any process, commits; a changed
  version empties the cache. Checked before every lookup, so a row is never
  served across a commit it has not seen.

The classic race (read the old row, the change is committed and announced,
then the old row is cached) is closed with a sequence number: each
invalidation bumps it, a reader takes a token before reading, and a row is
cached only if its job was not invalidated after the token was taken.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from nxdocs.jobs.notify import RESYNC


class CachedJob(NamedTuple):
    owner_id: str
    body: bytes
    processing: bool


class JobCache:
    def __init__(
        self,
        is_live: Callable[[], bool],
        version: Callable[[], int] | None = None,
        max_entries: int = 50_000,
    ) -> None:
        """`is_live` tells whether notifications are arriving right now."""
        self._is_live = is_live
        self._version = version
        self._seen_version: int | None = None
        self._max_entries = max_entries
        self._entries: OrderedDict[str, CachedJob] = OrderedDict()
        # Last invalidation sequence per recently invalidated job; anything older
        # than the bounded window is covered by _floor.
        self._invalidated: OrderedDict[str, int] = OrderedDict()
        self._sequence = 0
        self._floor = 0
        self._lock = threading.Lock()

    def get(self, job_id: str) -> CachedJob | None:
        if not self._is_live():
            return None
        self._check_version()
        with self._lock:
            return self._entries.get(job_id)

    def token(self) -> int:
        """Take after a `get` miss, before reading the row that may be cached with `put`."""
        with self._lock:
            return self._sequence

    def _check_version(self) -> None:
        if self._version is None:
            return
        version = self._version()
        if version != self._seen_version:
            self.on_notification(RESYNC)
            self._seen_version = version

    def put(self, job_id: str, job: CachedJob, token: int) -> None:
        with self._lock:
            last_change = self._invalidated.get(job_id, self._floor)
            if last_change > token or not self._is_live():
                return
            self._entries[job_id] = job
            if len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def on_notification(self, job_id: str | None) -> None:
        """The notifier's listener: None (new jobs) is no change to a job."""
        if job_id is None:
            return
        with self._lock:
            self._sequence += 1
            if job_id == RESYNC:
                self._entries.clear()
                self._invalidated.clear()
                self._floor = self._sequence
                return
            self._entries.pop(job_id, None)
            self._invalidated[job_id] = self._sequence
            self._invalidated.move_to_end(job_id)
            if len(self._invalidated) > self._max_entries:
                _, evicted = self._invalidated.popitem(last=False)
                self._floor = max(self._floor, evicted)
