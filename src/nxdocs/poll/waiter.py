"""Waiting for a job to finish without polling: woken by change notifications.

Sync creates (`POST /v1/artifacts`, `POST /v1/exports`) wait here for a
bounded time. A wait re-reads the job when a notification names it, on
`RESYNC`, and at the fallback poll interval (which covers writers in other
processes on SQLite), so a lost notification costs latency, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import defaultdict

import anyio.to_thread

from nxdocs.jobs.model import JobView
from nxdocs.jobs.notify import RESYNC
from nxdocs.jobs.store import JobStore

_Waiting = tuple[asyncio.AbstractEventLoop, asyncio.Event]


class JobWaiter:
    def __init__(self, store: JobStore, poll_interval_seconds: float) -> None:
        self.store = store
        self.poll_interval = poll_interval_seconds
        self._waiting: defaultdict[str, list[_Waiting]] = defaultdict(list)
        self._lock = threading.Lock()
        store.notifier.subscribe(self._on_notification)

    async def wait(self, job_id: str, owner_id: str, timeout: float) -> JobView | None:
        """The job once terminal, or as it is when `timeout` runs out (None: no such job)."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiting[job_id].append(entry)
        try:
            return await self._wait(job_id, owner_id, event, time.monotonic() + timeout)
        finally:
            with self._lock:
                self._waiting[job_id].remove(entry)
                if not self._waiting[job_id]:
                    del self._waiting[job_id]

    async def _wait(
        self, job_id: str, owner_id: str, event: asyncio.Event, deadline: float
    ) -> JobView | None:
        while True:
            event.clear()
            view = await anyio.to_thread.run_sync(self.store.get, job_id, owner_id)
            remaining = deadline - time.monotonic()
            if view is None or view.state.is_terminal or remaining <= 0:
                return view
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, self.poll_interval))

    def _on_notification(self, job_id: str | None) -> None:
        if job_id is None:
            return
        with self._lock:
            if job_id == RESYNC:
                targets = [entry for entries in self._waiting.values() for entry in entries]
            else:
                targets = list(self._waiting.get(job_id, ()))
        for loop, event in targets:
            loop.call_soon_threadsafe(event.set)
