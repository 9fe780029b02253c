"""Waiting for a job to finish without polling: woken by change notifications.

Sync creates (`POST /v1/artifacts`, `POST /v1/exports`) wait here for a
bounded time. A wait re-reads the job when a notification names it, on
`RESYNC`, and at the fallback poll interval, so a lost notification costs
latency, never a hang.
"""

from __future__ import annotations

import time

import anyio.to_thread

from nxdocs.jobs.model import JobView
from nxdocs.jobs.store import JobStore
from nxdocs.poll.changes import JobChanges


class JobWaiter:
    def __init__(self, store: JobStore, changes: JobChanges, poll_interval_seconds: float) -> None:
        self.store = store
        self.changes = changes
        self.poll_interval = poll_interval_seconds

    async def wait(self, job_id: str, owner_id: str, timeout: float) -> JobView | None:
        """The job once terminal, or as it is when `timeout` runs out (None: no such job)."""
        deadline = time.monotonic() + timeout
        with self.changes.watch(job_id) as watch:
            while True:
                view = await anyio.to_thread.run_sync(self.store.get, job_id, owner_id)
                remaining = deadline - time.monotonic()
                if view is None or view.state.is_terminal or remaining <= 0:
                    return view
                await watch.changed(min(remaining, self.poll_interval))
