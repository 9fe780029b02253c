"""Runs a `Worker` on a background thread: embedded in `nxdocs serve`, or alone."""

from __future__ import annotations

import threading

from nxdocs.jobs.worker import Worker


class WorkerThread:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=worker.run, args=(self._stop,), name="worker")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the worker to stop and wait for its graceful shutdown to finish."""
        self._stop.set()
        self.worker.stop_waiting()
        self._thread.join(timeout)
