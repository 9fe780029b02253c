"""Waiting on a job's changes over HTTP: the long-poll and the event stream.

Both register a `JobWatch` before their first read and then re-read the job
only when a notification names it (or `RESYNC`, or at the fallback interval
while notifications may be missed), through the same `JobLookup` as every
poll. So a thousand waiters of one process share its one listening
connection and the poll path's few reader connections; none holds a
connection while it waits. While notifications arrive (`is_live`), the
fallback re-read is rare: it only guards against a bug, since losing the
listener is itself announced with `RESYNC`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from nxdocs.poll.cache import CachedJob
from nxdocs.poll.changes import JobChanges
from nxdocs.poll.lookup import JobLookup

_LIVE_FALLBACK_SECONDS = 30.0


class JobWaits:
    def __init__(
        self,
        lookup: JobLookup,
        changes: JobChanges,
        fallback_seconds: float,
        is_live: Callable[[], bool] = lambda: False,
    ) -> None:
        self.lookup = lookup
        self.changes = changes
        self.fallback_seconds = fallback_seconds
        self.is_live = is_live

    def _fallback(self) -> float:
        if self.is_live():
            return max(self.fallback_seconds, _LIVE_FALLBACK_SECONDS)
        return self.fallback_seconds

    async def until_finished(
        self, job_id: str, timeout: float, gone: asyncio.Event
    ) -> CachedJob | None:
        """The job once it is finished, or as it is after `timeout` seconds; None if it
        no longer exists or `gone` was set (the client left: nothing to answer)."""
        deadline = time.monotonic() + timeout
        with self.changes.watch(job_id) as watch:
            stop_on_gone = asyncio.ensure_future(_wake_when(gone, watch.wake))
            try:
                while True:
                    job = await self.lookup.job(job_id)
                    remaining = deadline - time.monotonic()
                    if gone.is_set():
                        return None
                    if job is None or not job.processing or remaining <= 0:
                        return job
                    await watch.changed(min(remaining, self._fallback()))
            finally:
                stop_on_gone.cancel()

    async def states(self, job_id: str) -> AsyncIterator[CachedJob]:
        """Each state of the job from now on, starting with the current one and
        ending after a finished one (or when the job is gone); a state the
        caller saw is not repeated, though states that pass between two reads
        are skipped (each state is the whole job, so the latest says it all)."""
        last: bytes | None = None
        with self.changes.watch(job_id) as watch:
            while True:
                job = await self.lookup.job(job_id)
                if job is None:
                    return
                if job.body != last:
                    last = job.body
                    yield job
                if not job.processing:
                    return
                await watch.changed(self._fallback())


async def _wake_when(event: asyncio.Event, wake: Callable[[], None]) -> None:
    await event.wait()
    wake()
