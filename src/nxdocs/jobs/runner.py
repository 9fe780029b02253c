"""Runs a `Worker` under supervision: embedded in `nxdocs serve`, or alone in `nxdocs worker`.

The worker loop already survives database errors on its own; supervision is
the last line: if the loop ever ends with an exception (a bug), it is logged
and started again after a pause, so a process that should run jobs never
quietly stops running them. `alive` says whether a loop is running right now,
which `/readyz` reports.
"""

from __future__ import annotations

import logging
import threading
import time

from nxdocs.jobs.backoff import Backoff
from nxdocs.jobs.worker import Worker
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

_HEALTHY_RUN_SECONDS = 60.0
"""A loop that ran this long before dying is restarted after the shortest pause."""


class SupervisedWorker:
    """Runs `worker.run` until `stop` is set, restarting it whenever it dies."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._running = threading.Event()

    @property
    def alive(self) -> bool:
        return self._running.is_set()

    def run(self, stop: threading.Event) -> None:
        restarts = Backoff(0.5, 30.0)
        while not stop.is_set():
            self._running.set()
            started = time.monotonic()
            try:
                self.worker.run(stop)
            except Exception as exc:
                self._running.clear()
                if time.monotonic() - started > _HEALTHY_RUN_SECONDS:
                    restarts.succeeded()
                delay = restarts.failed()
                log.error(
                    "worker loop died (%s); restarting in %.1fs", exception_summary(exc), delay
                )
                if stop.wait(delay):
                    break
            finally:
                self._running.clear()


class WorkerThread:
    """A supervised worker on a background thread."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.supervised = SupervisedWorker(worker)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.supervised.run, args=(self._stop,), name="worker"
        )

    @property
    def alive(self) -> bool:
        """True while a worker loop runs in this thread."""
        return self._thread.is_alive() and self.supervised.alive

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the worker to stop and wait for its graceful shutdown to finish."""
        self._stop.set()
        self.worker.stop_waiting()
        self._thread.join(timeout)
