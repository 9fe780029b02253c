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

Memory: the cache is bounded by entries and by bytes, and stores compact
copies. orjson builds each body in a buffer of at least 4 KiB and hands that
buffer over as the `bytes` object, so a 250-byte body kept as returned holds
4 KiB; `put` copies it to an exact-size object. Owner ids are interned, so
one owner's jobs share one string.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from nxdocs.jobs.notify import RESYNC


class CachedJob(NamedTuple):
    owner_id: str
    body: bytes
    processing: bool


# What an entry costs besides its strings: the tuple, the dict slot and the
# order links (about 150 bytes, measured with tracemalloc).
_ENTRY_OVERHEAD = 160


def _compact(job: CachedJob) -> CachedJob:
    """A copy that holds exactly its bytes (see the module docstring)."""
    return CachedJob(sys.intern(job.owner_id), bytes(memoryview(job.body)), job.processing)


def _size(job_id: str, job: CachedJob) -> int:
    """Bytes an entry keeps allocated; the owner id is counted although it may be shared."""
    return (
        sys.getsizeof(job_id)
        + sys.getsizeof(job.owner_id)
        + sys.getsizeof(job.body)
        + _ENTRY_OVERHEAD
    )


class JobCache:
    def __init__(
        self,
        is_live: Callable[[], bool],
        version: Callable[[], int] | None = None,
        max_entries: int = 50_000,
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        """`is_live` tells whether notifications are arriving right now."""
        self._is_live = is_live
        self._version = version
        self._seen_version: int | None = None
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[str, CachedJob] = OrderedDict()
        self._bytes = 0
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
        if not self._is_live():
            return  # nothing is cached while notifications may be missed: skip the copy
        job = _compact(job)
        size = _size(job_id, job)
        with self._lock:
            last_change = self._invalidated.get(job_id, self._floor)
            if last_change > token or not self._is_live() or size > self._max_bytes:
                return
            self._discard(job_id)
            self._entries[job_id] = job
            self._bytes += size
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                oldest, evicted = self._entries.popitem(last=False)
                self._bytes -= _size(oldest, evicted)

    def _discard(self, job_id: str) -> None:
        """Drop one entry; the caller holds the lock."""
        job = self._entries.pop(job_id, None)
        if job is not None:
            self._bytes -= _size(job_id, job)

    def on_notification(self, job_id: str | None) -> None:
        """The notifier's listener: None (new jobs) is no change to a job."""
        if job_id is None:
            return
        with self._lock:
            self._sequence += 1
            if job_id == RESYNC:
                self._entries.clear()
                self._bytes = 0
                self._invalidated.clear()
                self._floor = self._sequence
                return
            self._discard(job_id)
            self._invalidated[job_id] = self._sequence
            self._invalidated.move_to_end(job_id)
            if len(self._invalidated) > self._max_entries:
                _, evicted = self._invalidated.popitem(last=False)
                self._floor = max(self._floor, evicted)

    @property
    def entries(self) -> int:
        """Jobs cached now."""
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Memory the cached entries hold, as counted against `max_bytes`."""
        return self._bytes
