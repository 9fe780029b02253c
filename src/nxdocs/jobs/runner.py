"""Runs a `Worker` under supervision: in `nxdocs worker`, in a thread beside an API
(tests, embedding), or as the worker process `nxdocs serve` starts and watches.

The worker loop already survives database errors on its own; supervision is
the last line: if the loop ever ends with an exception (a bug), it is logged
and started again after a pause, so a process that should run jobs never
quietly stops running them. Likewise a worker process that exits is started
again. `alive` says whether a loop (or the process) is running right now,
which `/readyz` reports.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from nxdocs.jobs.backoff import Backoff
from nxdocs.jobs.worker import Worker
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

_HEALTHY_RUN_SECONDS = 60.0
"""A loop that ran this long before dying is restarted after the shortest pause."""
_EXIT_MARGIN_SECONDS = 10.0
_PARENT_CHECK_SECONDS = 1.0


class EmbeddedWorker(Protocol):
    """What an API process runs beside itself and reports on in `/readyz`."""

    @property
    def alive(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


PARENT_PID_VARIABLE = "NXDOCS_WORKER_PARENT_PID"
"""Set for a worker process that `WorkerProcess` started: the worker stops when
that parent is gone, so a killed `nxdocs serve` leaves no worker behind."""


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


class WorkerProcess:
    """A worker in a child process, restarted whenever it exits until `stop`.

    CPU-heavy work (parsing, layout, rasterising) holds the GIL; in a thread of
    the API process it would slow every request. In its own process it slows
    none. The child gets its settings through the environment (secrets stay
    out of the process list) and its own session, so a terminal's Ctrl-C
    reaches only the parent, which stops the child in order.
    """

    def __init__(
        self, command: Sequence[str], env: Mapping[str, str], shutdown_grace_seconds: float
    ) -> None:
        self.command = list(command)
        self.env = {**env, PARENT_PID_VARIABLE: str(os.getpid())}
        self.grace = shutdown_grace_seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        # A daemon: if shutdown is skipped (a second Ctrl-C makes uvicorn force its
        # exit), the supervisor must not keep the interpreter from exiting.
        self._thread = threading.Thread(target=self._supervise, name="worker-process", daemon=True)

    @property
    def alive(self) -> bool:
        with self._lock:
            return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        with self._lock:
            return None if self._process is None else self._process.pid

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """SIGTERM: the worker's graceful shutdown, then SIGKILL if it outlasts it."""
        self._stop.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.grace + _EXIT_MARGIN_SECONDS)
            except subprocess.TimeoutExpired:
                log.error("worker process %d outlived its shutdown; killing it", process.pid)
                process.kill()
                process.wait()
        if self._thread.ident is not None:  # started, possibly stopped already
            self._thread.join()

    def _supervise(self) -> None:
        restarts = Backoff(0.5, 30.0)
        while not self._stop.is_set():
            with self._lock:
                if self._stop.is_set():
                    return
                process = subprocess.Popen(  # noqa: S603 (our own command, not input)
                    self.command, env=self.env, start_new_session=True
                )
                self._process = process
            started = time.monotonic()
            code = process.wait()
            if self._stop.is_set():
                return
            if time.monotonic() - started > _HEALTHY_RUN_SECONDS:
                restarts.succeeded()
            delay = restarts.failed()
            log.error("worker process exited with %d; restarting in %.1fs", code, delay)
            self._stop.wait(delay)


def exit_with_parent(stop: threading.Event, wake: Callable[[], None]) -> None:
    """In a worker process `WorkerProcess` started: set `stop` once its parent is gone."""
    expected = os.environ.get(PARENT_PID_VARIABLE)
    if not expected:
        return

    def watch() -> None:
        while not stop.wait(_PARENT_CHECK_SECONDS):
            if str(os.getppid()) != expected:
                log.warning("the serving process is gone; stopping")
                stop.set()
                wake()
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
