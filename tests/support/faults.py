"""Fault injection at the job store's seam, and handlers that record what ran when.

`FaultyStore` stands where the worker expects its `JobStore`: every call goes
to the real store and database, except the calls a test scripts to raise a
database error or to stall first. `RecordingHandler` notes the start and end
of every attempt it runs, so a test can assert that no two attempts of a job
overlapped and that no more handlers ran at once than the worker's slots.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from nxdocs.jobs.errors import LeaseLostError, SnoozeJob
from nxdocs.jobs.handlers import JobContext
from nxdocs.jobs.model import ClaimedJob, ErrorInfo
from nxdocs.jobs.store import JobStore


def injected_error() -> OperationalError:
    """What the driver raises when the server goes away mid-statement."""
    return OperationalError("injected fault", {}, ConnectionError("server closed the connection"))


@dataclass
class Fault:
    times: int
    raises: bool = True
    stall_seconds: float = 0.0


class FaultyStore:
    """The real store, with scripted faults on chosen methods."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self.calls: defaultdict[str, int] = defaultdict(int)
        self.injected: defaultdict[str, int] = defaultdict(int)

    def inject_error(self, method: str, times: int = 1) -> None:
        """The next `times` calls of `method` raise a database error."""
        with self._lock:
            self._faults[method] = Fault(times)

    def inject_stall(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` wait `seconds` before they run."""
        with self._lock:
            self._faults[method] = Fault(times, raises=False, stall_seconds=seconds)

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._store, name)
        if not callable(real) or name.startswith("_"):
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            fault = self._take(name)
            if fault is not None and fault.raises:
                raise injected_error()
            if fault is not None:
                # The stalled call itself: a fault of the seam, not a test waiting.
                time.sleep(fault.stall_seconds)
            return real(*args, **kwargs)

        return call

    def _take(self, name: str) -> Fault | None:
        with self._lock:
            self.calls[name] += 1
            fault = self._faults.get(name)
            if fault is None or fault.times <= 0:
                return None
            fault.times -= 1
            self.injected[name] += 1
            return fault


@dataclass
class Run:
    job_id: str
    attempt: int
    started: float
    ended: float = math.inf
    """+inf while the attempt is still running."""


class RecordingHandler:
    """Runs `payload["seconds"]` (default 0), checking its lease every few ms.

    It stops when the lease is lost, as real handlers do (`LeaseLostError`),
    unless `payload["ignore_lease"]` names the attempt: a runaway that only
    `release` ends. With `payload["snooze"]`, attempt 1 snoozes instead of
    finishing. Every attempt's start and end are recorded.
    """

    def __init__(self, job_type: str) -> None:
        self.type = job_type
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.runs: list[Run] = []
        self.running = 0
        self.most_running = 0
        self.completed: dict[str, int] = {}
        self.completed_twice: list[str] = []
        self.snoozed: dict[str, bool] = {}
        self._pause = threading.Event()  # never set: a wait on it is the work's pace

    def run(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        record = Run(job.id, job.attempt, time.monotonic())
        with self._lock:
            self.runs.append(record)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            return self._work(job, context)
        finally:
            with self._lock:
                self.running -= 1
                record.ended = time.monotonic()

    def _work(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        payload = job.payload
        seconds = payload.get("seconds", {}).get(str(job.attempt), payload.get("default", 0.0))
        deadline = time.monotonic() + seconds
        if payload.get("ignore_lease", {}).get(str(job.attempt)):
            self.release.wait()
            return {"artifact_id": "doc_runaway"}
        while time.monotonic() < deadline:
            if context.lease_lost():
                raise LeaseLostError
            self._pause.wait(0.005)
        if payload.get("snooze") and job.attempt == 1 and not self.snoozed.get(job.id):
            self.snoozed[job.id] = True
            raise SnoozeJob(0)
        return {"artifact_id": f"doc_{job.id}_{job.attempt}"}

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        with self._lock:
            if job.id in self.completed:
                self.completed_twice.append(job.id)
            self.completed[job.id] = job.attempt

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        pass

    def overlaps(self) -> list[tuple[Run, Run]]:
        """Pairs of attempts of one job whose run times intersect (so far)."""
        by_job: defaultdict[str, list[Run]] = defaultdict(list)
        with self._lock:
            for run in list(self.runs):
                by_job[run.job_id].append(run)
        found = []
        for runs in by_job.values():
            ordered = sorted(runs, key=lambda run: run.started)
            for earlier, later in itertools.pairwise(ordered):
                if later.started < earlier.ended:
                    found.append((earlier, later))
        return found
