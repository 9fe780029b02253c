"""Run one claimed job and report its outcome: execute -> decide -> write."""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from nxdocs.jobs.errors import JobError, SnoozeJob
from nxdocs.jobs.handlers import HandlerRegistry
from nxdocs.jobs.model import ClaimedJob, ErrorInfo
from nxdocs.jobs.retry import GiveUp, RetryDecision, RetryPolicy
from nxdocs.jobs.store import ATTEMPTS_EXHAUSTED, JobStore
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

INTERNAL_ERROR = ErrorInfo("INTERNAL_ERROR", "An internal error occurred while running the job.")


@dataclass(frozen=True, slots=True)
class Succeeded:
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failed:
    error: ErrorInfo
    retryable: bool


@dataclass(frozen=True, slots=True)
class Snoozed:
    run_at_ms: int


Outcome = Succeeded | Failed | Snoozed


@dataclass
class RunningJob:
    """The `JobContext` a handler sees, bound to one attempt of one job."""

    job: ClaimedJob
    worker_id: str
    store: JobStore
    lease_seconds: float
    lost: threading.Event = field(default_factory=threading.Event)

    def report_progress(self, done: int, total: int) -> None:
        if self.lost.is_set():
            return
        if not self.store.report_progress(self.job, self.worker_id, done, total):
            self.lost.set()

    def heartbeat(self) -> None:
        if self.lost.is_set():
            return
        held = self.store.heartbeat(self.worker_id, [self.job.id], self.lease_seconds)
        if self.job.id not in held:
            self.lost.set()

    def lease_lost(self) -> bool:
        return self.lost.is_set()


@dataclass(frozen=True)
class Executor:
    store: JobStore
    registry: HandlerRegistry
    policy: RetryPolicy
    worker_id: str
    rng: random.Random

    def execute(self, running: RunningJob) -> None:
        if running.lease_lost():
            return  # released at shutdown before it started: another worker runs it
        outcome = self._run(running)
        job = running.job
        if running.lease_lost():
            # Another worker may own the job now, or we are shutting down and
            # released it: the fenced write would be refused anyway.
            log.warning("job %s attempt %d lost its lease; outcome dropped", job.id, job.attempt)
        elif isinstance(outcome, Succeeded):
            if not self.store.complete(job, self.worker_id, outcome.result):
                log.warning("job %s finished after its lease was lost; result dropped", job.id)
        elif isinstance(outcome, Snoozed):
            self.store.snooze(job, self.worker_id, outcome.run_at_ms)
        else:
            self._report_failure(job, outcome.error, retryable=outcome.retryable)

    def _run(self, running: RunningJob) -> Outcome:
        job = running.job
        try:
            return Succeeded(self.registry.get(job.type).run(job, running))
        except SnoozeJob as snooze:
            return Snoozed(self.store.clock.now_ms() + int(snooze.delay_seconds * 1000))
        except JobError as exc:
            log.info("job %s attempt %d failed: %s", job.id, job.attempt, exc.code)
            return Failed(ErrorInfo(exc.code, exc.message), retryable=exc.retryable)
        except Exception as exc:
            # The client sees a safe message; operators get where it was raised.
            log.error("job %s attempt %d raised %s", job.id, job.attempt, exception_summary(exc))
            return Failed(INTERNAL_ERROR, retryable=True)

    def _report_failure(self, job: ClaimedJob, error: ErrorInfo, *, retryable: bool) -> None:
        decision: RetryDecision = GiveUp()
        if retryable:
            decision = self.policy.decide(
                attempt=job.attempt,
                max_attempts=job.max_attempts,
                now_ms=self.store.clock.now_ms(),
                rng=self.rng,
            )
            if isinstance(decision, GiveUp):
                error = exhausted(error, job.attempt)
        if not self.store.fail(job, self.worker_id, error, decision):
            log.warning("job %s failed after its lease was lost; outcome dropped", job.id)


def exhausted(last: ErrorInfo, attempts: int) -> ErrorInfo:
    return ErrorInfo(
        ATTEMPTS_EXHAUSTED,
        f"The job failed on each of its {attempts} attempts; last error: "
        f"{last.code}: {last.message}",
    )
