"""Daemon threads that run a worker's jobs, started as needed and then kept.

Written by hand because `concurrent.futures.ThreadPoolExecutor` joins its
threads when the interpreter exits: one handler that never returns (a
runaway, already failed with JOB_TIMEOUT) would keep `nxdocs worker` from
ever exiting. These threads are daemons. Keeping them, rather than a thread
per job, saves a thread start (about 0.1 ms) on every job.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

Task = Callable[[], None]


class DaemonThreads:
    """Runs submitted tasks on up to `size` daemon threads."""

    def __init__(self, size: int, name: str) -> None:
        self._size = size
        self._name = name
        self._tasks: queue.SimpleQueue[Task | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._idle = 0  # threads waiting for a task, or about to
        self._pending = 0  # tasks queued while every thread was busy

    def submit(self, task: Task) -> None:
        """Run `task` on an idle thread, or on a new one while fewer than `size` run.

        The caller keeps the number of unfinished tasks within `size`; a task
        beyond that waits for a thread to come free.
        """
        with self._lock:
            start = False
            if self._idle > 0:
                self._idle -= 1  # that thread is spoken for
            elif self._started < self._size:
                self._started += 1
                start = True
            else:
                self._pending += 1
        if not start:
            self._tasks.put(task)
            return
        thread = threading.Thread(target=self._serve, args=(task,), name=self._name, daemon=True)
        try:
            thread.start()
        except RuntimeError:  # "can't start new thread": the process is at its limit
            with self._lock:
                self._started -= 1
            raise

    def shutdown(self) -> None:
        """Idle threads end; busy ones end after their task."""
        with self._lock:
            started = self._started
        for _ in range(started):
            self._tasks.put(None)

    def _serve(self, first: Task) -> None:
        task: Task | None = first
        while task is not None:
            task()
            with self._lock:
                if self._pending > 0:
                    self._pending -= 1  # a queued task is this thread's
                else:
                    self._idle += 1
            task = self._tasks.get()
