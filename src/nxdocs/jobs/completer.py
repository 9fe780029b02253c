"""Successful outcomes written in batches: one transaction for many completions.

A no-op job's own work is nothing; its completion (a fenced UPDATE, its
hooks, a notification, a commit) is the whole of its cost. Handler threads
hand their results to one completer thread and go on to the next job; the
completer writes everything handed over since its last write as one batch
(`JobStore.complete_many`), so batches form by themselves under load; while
completions keep coming, a batch also waits 20 ms for more. A completion after
a quiet spell is written at once.

A batch that cannot be written as one (a hook raised, the database is away)
is written again one job at a time through the executor's own retrying
write, so one bad job never holds up the rest. Until its write, a job stays
`running` under its lease: if the process dies first, the job runs again
(at-least-once, as for any crash before a write).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from nxdocs.jobs.execute import RunningJob
from nxdocs.jobs.metrics import count_by_type, worker_metrics
from nxdocs.jobs.model import JobState
from nxdocs.jobs.store import JobStore
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

_MAX_BATCH = 500
# While completions come in a stream (the last write was under `_BUSY_SECONDS`
# ago), a batch waits `_LINGER_SECONDS` for more: when jobs trickle in one at a
# time, each would otherwise cost a transaction of its own. A completion after
# a quiet spell is written at once.
_BUSY_SECONDS = 0.05
_LINGER_SECONDS = 0.02

WriteOne = Callable[[RunningJob, dict[str, Any]], None]


class Completer:
    def __init__(self, store: JobStore, worker_id: str, write_one: WriteOne) -> None:
        self.store = store
        self.worker_id = worker_id
        self.write_one = write_one
        self._pending: list[tuple[RunningJob, dict[str, Any]]] = []
        self._changed = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="completer", daemon=True)
        self._thread.start()

    def submit(self, running: RunningJob, result: dict[str, Any]) -> None:
        """Queue a settled attempt's result for the next batch."""
        with self._changed:
            if self._thread is None or self._closing:
                closed = True
            else:
                closed = False
                self._pending.append((running, result))
                self._changed.notify()
        if closed:
            self.write_one(running, result)  # not running (any more): write it here

    def close(self, timeout: float) -> None:
        """Write what is queued, then stop the thread (waits at most `timeout`)."""
        with self._changed:
            self._closing = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        last_write = -math.inf
        while True:
            with self._changed:
                while not self._pending and not self._closing:
                    self._changed.wait()
                if time.monotonic() - last_write < _BUSY_SECONDS:
                    # Results keep coming: let a few more join this batch.
                    linger_until = time.monotonic() + _LINGER_SECONDS
                    while len(self._pending) < _MAX_BATCH and not self._closing:
                        left = linger_until - time.monotonic()
                        if left <= 0:
                            break
                        self._changed.wait(left)
                if not self._pending:
                    return
                batch = self._pending[:_MAX_BATCH]
                del self._pending[:_MAX_BATCH]
            self._write(batch)
            last_write = time.monotonic()

    def _write(self, batch: list[tuple[RunningJob, dict[str, Any]]]) -> None:
        try:
            written = self.store.complete_many(
                self.worker_id, [(running.job, result) for running, result in batch]
            )
        except Exception as exc:
            log.warning(
                "%d completion(s) not written together (%s); writing them one at a time",
                len(batch),
                exception_summary(exc),
            )
            for running, result in batch:
                self.write_one(running, result)
            return
        succeeded = worker_metrics().finished
        count_by_type(
            lambda job_type: succeeded.labels(job_type, JobState.SUCCEEDED),
            [running.job.type for running, _ in batch if running.key in written],
        )
        for running, _ in batch:
            if running.key not in written:
                running.mark_lost()
                log.warning(
                    "job %s attempt %d: lease lost, result refused (a newer attempt owns the job)",
                    running.job.id,
                    running.job.attempt,
                )
