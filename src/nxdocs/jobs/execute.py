"""Run one claimed job and report its outcome: execute -> decide -> write.

An attempt knows its lease from its own monotonic clock as well as from the
database: the lease was granted no earlier than the moment the claim (or the
last heartbeat that renewed it) was sent, so `lease_lost()` turns true a
margin before the database can consider the lease expired. From then on the
context's calls raise `LeaseLostError`, so a handler stops at its next
progress report or heartbeat, before a reaper can hand the job to another
attempt, even when its heartbeats stall or the process was paused. Every
write is also fenced in the database, so a handler that never calls back
writes nothing that counts.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nxdocs.jobs.backoff import Backoff
from nxdocs.jobs.errors import JobError, LeaseLostError, SnoozeJob
from nxdocs.jobs.handlers import HandlerRegistry
from nxdocs.jobs.metrics import WorkerMetrics, worker_metrics
from nxdocs.jobs.model import ClaimedJob, ErrorInfo, Fence, JobState
from nxdocs.jobs.retry import GiveUp, RetryDecision, RetryPolicy
from nxdocs.jobs.store import ATTEMPTS_EXHAUSTED, ClaimKey, JobStore
from nxdocs.logs import JOB_ID, exception_summary

log = logging.getLogger(__name__)

INTERNAL_ERROR = ErrorInfo("INTERNAL_ERROR", "An internal error occurred while running the job.")
LEASE_LOST = ErrorInfo(
    "LEASE_LOST", "The attempt stopped: its worker could not renew the job's lease in time."
)
JOB_TIMEOUT = "JOB_TIMEOUT"

LEASE_SAFETY = 5 / 6
"""An attempt counts its lease as lost after this share of it, locally: the rest
is the margin in which a cooperative handler stops before a reaper may act."""


@dataclass(frozen=True, slots=True)
class Succeeded:
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failed:
    error: ErrorInfo
    retryable: bool


@dataclass(frozen=True, slots=True)
class Snoozed:
    delay_ms: int


Outcome = Succeeded | Failed | Snoozed


@dataclass
class RunningJob:
    """The `JobContext` a handler sees, bound to one claim of one job.

    `claimed_at` is the monotonic time just before the claim was sent; the
    lease counts from it. The run-time limit counts from `started_at`, which
    is later for a job claimed ahead and held until a slot came free.
    """

    job: ClaimedJob
    worker_id: str
    store: JobStore
    lease_seconds: float
    timeout_seconds: float
    claimed_at: float
    _lost: threading.Event = field(default_factory=threading.Event, init=False)
    _lease_deadline: float = field(init=False)
    _settled: bool = field(default=False, init=False)
    _settle_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    started_at: float = field(init=False)

    def __post_init__(self) -> None:
        self._lease_deadline = self.claimed_at + self.lease_seconds * LEASE_SAFETY
        self.started_at = self.claimed_at

    def start(self) -> None:
        """Its handler is about to run: the run-time limit starts now."""
        self.started_at = time.monotonic()

    @property
    def key(self) -> ClaimKey:
        return (self.job.id, self.job.run_id)

    @property
    def fence(self) -> Fence:
        return Fence(self.job.id, self.worker_id, self.job.attempt, self.job.run_id)

    @property
    def overdue(self) -> bool:
        """Past its run-time limit."""
        return time.monotonic() >= self.started_at + self.timeout_seconds

    @property
    def lost(self) -> bool:
        """Known lost: the database refused it, or it was released or timed out."""
        return self._lost.is_set()

    def mark_lost(self) -> None:
        self._lost.set()

    def renewed(self, sent_at: float) -> None:
        """A heartbeat sent at monotonic `sent_at` found the lease still held."""
        self._lease_deadline = max(
            self._lease_deadline, sent_at + self.lease_seconds * LEASE_SAFETY
        )

    def settle(self) -> bool:
        """Take the one right to report this attempt's outcome (the handler's own
        outcome, a timeout, or a release at shutdown); False if already taken."""
        with self._settle_lock:
            if self._settled:
                return False
            self._settled = True
            return True

    def lease_lost(self) -> bool:
        return self.lost or time.monotonic() >= self._lease_deadline

    def report_progress(self, done: int, total: int) -> None:
        self.check()
        try:
            held = self.store.report_progress(self.job, self.worker_id, done, total)
        except Exception as exc:
            # Progress is a courtesy to pollers: never fail the job over it.
            log.warning("job %s progress not saved: %s", self.job.id, exception_summary(exc))
            return
        if not held:
            self.mark_lost()
            raise LeaseLostError

    def heartbeat(self) -> None:
        self.check()
        self.renew()
        self.check()

    def renew(self) -> None:
        """One heartbeat for this claim now; a database error leaves the lease as it was."""
        sent_at = time.monotonic()
        try:
            held = self.store.heartbeat(self.worker_id, [self.key], self.lease_seconds)
        except Exception as exc:
            # The worker's own heartbeats keep trying; the local deadline still holds.
            log.warning("job %s heartbeat failed: %s", self.job.id, exception_summary(exc))
            return
        if self.key in held:
            self.renewed(sent_at)
        else:
            self.mark_lost()

    def check(self) -> None:
        if self.lease_lost():
            raise LeaseLostError


@dataclass(frozen=True)
class Executor:
    store: JobStore
    registry: HandlerRegistry
    policy: RetryPolicy
    worker_id: str
    rng: random.Random
    write_retry_seconds: float
    """How long an outcome write is retried through database errors."""
    completions: Callable[[RunningJob, dict[str, Any]], None] | None = None
    """Where successful results go to be written in batches (`nxdocs.jobs.completer`);
    None: each is written at once, here."""
    metrics: WorkerMetrics = field(default_factory=worker_metrics)

    def execute(self, running: RunningJob) -> None:
        if running.lost:
            return  # released at shutdown before it started: another worker runs it
        # Every line logged for this attempt on this thread names the job (JSON logs).
        token = JOB_ID.set(running.job.id)
        try:
            self._execute(running)
        finally:
            JOB_ID.reset(token)

    def _execute(self, running: RunningJob) -> None:
        if running.lease_lost():
            running.renew()  # the claim itself was slow (a busy database): renew first
            if running.lease_lost():
                log.warning("job %s attempt %d: lease lost before it started", *_ids(running))
        outcome = self._run(running)
        seconds = time.monotonic() - running.started_at
        self.metrics.duration(running.job.type).observe(seconds)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("job %s attempt %d ran %.3fs: %s", *_ids(running), seconds, _outcome(outcome))
        if not running.settle():
            return
        if isinstance(outcome, Succeeded) and self.completions is not None:
            self.completions(running, outcome.result)
        else:
            self.report(running, outcome)

    def time_out(self, running: RunningJob) -> None:
        """Fail an attempt that outlived its limit (settled and marked lost by the caller)."""
        token = JOB_ID.set(running.job.id)
        try:
            log.warning(
                "job %s attempt %d timed out after %gs", *_ids(running), running.timeout_seconds
            )
            message = f"The job ran longer than its limit of {running.timeout_seconds:g} seconds."
            self.report(running, Failed(ErrorInfo(JOB_TIMEOUT, message), retryable=True))
        finally:
            JOB_ID.reset(token)

    def _run(self, running: RunningJob) -> Outcome:
        job = running.job
        try:
            if running.lease_lost():
                raise LeaseLostError
            return Succeeded(self.registry.get(job.type).run(job, running))
        except LeaseLostError:
            # Written like any transient failure, under the fence: at once if the
            # job is still ours (so it runs again without waiting for a reaper),
            # refused if another attempt took it over.
            log.warning("job %s attempt %d stopped: lease lost", *_ids(running))
            return Failed(LEASE_LOST, retryable=True)
        except SnoozeJob as snooze:
            return Snoozed(int(snooze.delay_seconds * 1000))
        except JobError as exc:
            log.info("job %s attempt %d failed: %s", job.id, job.attempt, exc.code)
            return Failed(ErrorInfo(exc.code, exc.message), retryable=exc.retryable)
        except Exception as exc:
            # The client sees a safe message; operators get where it was raised.
            log.error("job %s attempt %d raised %s", job.id, job.attempt, exception_summary(exc))
            return Failed(INTERNAL_ERROR, retryable=True)

    def report(self, running: RunningJob, outcome: Outcome) -> None:
        """Write the outcome under the database's fence, retrying through database errors.

        The fence decides, not the local view of the lease: a write that comes
        after another attempt took the job over is refused and logged.
        """
        job = running.job
        write: Callable[[], bool]
        # What the write counts once it is made: the state the job ends in, or a retry.
        counter = None
        if isinstance(outcome, Succeeded):
            kind = "result"
            write = lambda: self.store.complete(job, self.worker_id, outcome.result)  # noqa: E731
            counter = self.metrics.finished.labels(job.type, JobState.SUCCEEDED)
        elif isinstance(outcome, Snoozed):
            kind = "snooze"
            write = lambda: self.store.snooze(job, self.worker_id, outcome.delay_ms)  # noqa: E731
        else:
            kind = f"failure {outcome.error.code}"
            error, decision = self._decide(job, outcome)
            write = lambda: self.store.fail(job, self.worker_id, error, decision)  # noqa: E731
            counter = (
                self.metrics.finished.labels(job.type, JobState.FAILED)
                if isinstance(decision, GiveUp)
                else self.metrics.retries.labels(job.type)
            )
        written = self._retrying(running, write)
        if written and counter is not None:
            counter.inc()
        if written is False:
            running.mark_lost()
            log.warning(
                "job %s attempt %d: lease lost, %s refused (a newer attempt owns the job)",
                *_ids(running),
                kind,
            )

    def _decide(self, job: ClaimedJob, outcome: Failed) -> tuple[ErrorInfo, RetryDecision]:
        if not outcome.retryable:
            return outcome.error, GiveUp()
        decision = self.policy.decide(
            attempt=job.attempt, max_attempts=job.max_attempts, rng=self.rng
        )
        if isinstance(decision, GiveUp):
            return exhausted(outcome.error, job.attempt), decision
        return outcome.error, decision

    def _retrying(self, running: RunningJob, write: Callable[[], bool]) -> bool | None:
        """`write()`'s answer; None if the database kept failing for `write_retry_seconds`
        (the lease then expires and the job runs again: at-least-once)."""
        give_up = time.monotonic() + self.write_retry_seconds
        backoff = Backoff(0.05, 2.0)
        while True:
            try:
                return write()
            except Exception as exc:
                delay = backoff.failed()
                if time.monotonic() + delay > give_up:
                    log.error(
                        "job %s attempt %d: outcome not written (%s); giving up, "
                        "the job runs again once its lease expires",
                        *_ids(running),
                        exception_summary(exc),
                    )
                    return None
                log.warning(
                    "job %s attempt %d: outcome write failed (%s); retrying in %.2fs",
                    *_ids(running),
                    exception_summary(exc),
                    delay,
                )
                time.sleep(delay)


def _ids(running: RunningJob) -> tuple[str, int]:
    return running.job.id, running.job.attempt


def _outcome(outcome: Outcome) -> str:
    if isinstance(outcome, Succeeded):
        return "succeeded"
    if isinstance(outcome, Snoozed):
        return "snoozed"
    return f"failed ({outcome.error.code})"


def exhausted(last: ErrorInfo, attempts: int) -> ErrorInfo:
    return ErrorInfo(
        ATTEMPTS_EXHAUSTED,
        f"The job failed on each of its {attempts} attempts; last error: "
        f"{last.code}: {last.message}",
    )
