"""The worker loop: claim -> execute -> report, with leases kept alive and a clean stop.

The loop never dies of a fault: a claim, a heartbeat or a maintenance task
that raises is logged and tried again with backoff. Jobs run on up to twice
`concurrency` daemon threads, so an attempt that outlives its run-time limit
can be failed with JOB_TIMEOUT and its slot given to the next job even if its
handler never returns. Python cannot stop a thread: the abandoned handler
only loses its right to write. Up to `concurrency` abandoned handlers run
beside the slots; beyond that they take slots, so runaway handlers cannot
multiply without bound.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nxdocs.ids import new_id
from nxdocs.jobs.backoff import Backoff
from nxdocs.jobs.completer import Completer
from nxdocs.jobs.execute import Executor, RunningJob, Succeeded
from nxdocs.jobs.handlers import HandlerRegistry
from nxdocs.jobs.leader import Leadership
from nxdocs.jobs.metrics import count_by_type, worker_metrics
from nxdocs.jobs.notify import RESYNC
from nxdocs.jobs.retry import RetryPolicy
from nxdocs.jobs.store import ClaimKey, JobStore
from nxdocs.jobs.threads import DaemonThreads
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

# Released jobs' handlers are told their lease is lost; those that check
# return within moments, and waiting for them keeps their threads from
# touching the database after the worker has returned.
_RELEASED_JOBS_WAIT_SECONDS = 5.0
# The heartbeat and timeout threads may be inside a slow database call when
# the worker stops; they get this long to come back.
_HELPER_THREADS_WAIT_SECONDS = 5.0
_WATCHDOG_TICK_SECONDS = 0.25
_SHORT_JOB_SECONDS = 0.05
_CLAIM_LINGER_SECONDS = 0.02
_RUN_SECONDS_WEIGHT = 0.2
"""Weight of the latest job in the moving average of run times `_claim_ahead` reads."""


@dataclass
class PeriodicTask:
    """Maintenance a worker runs every `interval_seconds` between claims."""

    name: str
    interval_seconds: float
    run: Callable[[], int]
    report: str
    """Logged when `run` did something, e.g. "recovered {count} job(s)"."""
    now: Callable[[], float] = time.monotonic
    """The clock the interval is measured on, in seconds."""
    next_due: float = 0.0


class Companion(Protocol):
    """A loop that runs beside the job loop for as long as it does (the webhook sender)."""

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set, then return promptly."""

    def stop_waiting(self) -> None:
        """Interrupt an idle wait, so `stop` is seen at once."""


@dataclass(frozen=True)
class WorkerConfig:
    concurrency: int
    lease_seconds: float
    poll_interval_seconds: float
    shutdown_grace_seconds: float
    policy: RetryPolicy
    max_releases: int = 3
    timeouts: Mapping[str, float] = field(default_factory=dict)
    """Run-time limit of one attempt, per job type."""
    default_timeout_seconds: float = 3600.0
    max_running_per_owner: int | None = None
    """Jobs of one owner this worker runs at once: None for all slots but one
    (so another owner's job never waits for a backlog), 0 for no limit."""

    def timeout_for(self, job_type: str) -> float:
        return self.timeouts.get(job_type, self.default_timeout_seconds)

    @property
    def per_owner(self) -> int | None:
        """The cap the claim applies, or None for none."""
        if self.max_running_per_owner is None:
            return max(1, self.concurrency - 1)
        return self.max_running_per_owner or None


def new_worker_id() -> str:
    # The id's random tail: its head is the time, the same for workers started together.
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-8:]}"


@dataclass
class Slot:
    """One claimed attempt, and whether its handler has returned."""

    running: RunningJob
    done: threading.Event = field(default_factory=threading.Event)


class Worker:
    """Runs up to `concurrency` jobs at a time until `stop` is set."""

    def __init__(
        self,
        store: JobStore,
        registry: HandlerRegistry,
        config: WorkerConfig,
        worker_id: str | None = None,
        periodic: list[PeriodicTask] | None = None,
        *,
        leadership: Callable[[str], Leadership] | None = None,
        companions: Sequence[Companion] = (),
    ) -> None:
        self.store = store
        self.companions = list(companions)
        self.config = config
        self.worker_id = worker_id or new_worker_id()
        # Bound method: it reads `self.executor`, made just below.
        self.completer = Completer(store, self.worker_id, self._write_success)
        self.executor = Executor(
            store,
            registry,
            config.policy,
            self.worker_id,
            random.Random(),  # noqa: S311 (jitter, not a secret)
            write_retry_seconds=max(2 * config.lease_seconds, 5.0),
            completions=self.completer.submit,
        )
        self._wake = threading.Event()
        self._recheck = threading.Event()
        # Keyed by claim, not by job: the same job can be claimed again by this
        # worker while an older attempt of it is still winding down.
        self._slots: dict[ClaimKey, Slot] = {}
        # Claimed ahead, waiting for a slot (see `_claim_ahead`).
        self._ready: deque[RunningJob] = deque()
        self._run_seconds: float | None = None
        self._abandoned: list[Slot] = []
        self._threads = DaemonThreads(2 * config.concurrency, "job")
        self._reporters: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.metrics = worker_metrics()
        # Expired leases are recovered at half the lease, so a lost job waits at
        # most 1.5 leases.
        reap = PeriodicTask(
            "lease recovery",
            config.lease_seconds / 2,
            self._reap_expired_leases,
            "recovered {count} job(s) whose lease expired",
        )
        self._periodic = [reap, *(periodic or [])]
        # Maintenance runs in one worker at a time across all nodes (None: this
        # worker is alone, as in tests of the loop itself).
        self._leadership = None if leadership is None else leadership(self.worker_id)
        self._leading = False

    @property
    def running(self) -> int:
        """Attempts holding a slot now."""
        with self._lock:
            return len(self._slots)

    @property
    def abandoned(self) -> int:
        """Handler threads still running after their attempt timed out."""
        with self._lock:
            self._abandoned = [slot for slot in self._abandoned if not slot.done.is_set()]
            return len(self._abandoned)

    def run(self, stop: threading.Event) -> None:
        unsubscribe = self.store.notifier.subscribe(self._on_notification)
        # Leases are renewed until the shutdown has finished or released every
        # job, not just until `stop`: jobs run on through the grace period.
        shut_down = threading.Event()
        helpers = [
            threading.Thread(target=loop, args=(shut_down,), name=name, daemon=True)
            for loop, name in ((self._heartbeat_loop, "heartbeat"), (self._watchdog, "watchdog"))
        ]
        for helper in helpers:
            helper.start()
        # Companions stop with the job loop, not after the grace period: their
        # own work in flight (a webhook attempt) is short.
        companions_stop = threading.Event()
        companions = [
            threading.Thread(
                target=companion.run, args=(companions_stop,), name="companion", daemon=True
            )
            for companion in self.companions
        ]
        for thread in companions:
            thread.start()
        self._threads = DaemonThreads(2 * self.config.concurrency, "job")
        self.completer.start()
        self.metrics.workers.inc()
        log.info("worker %s started, concurrency %d", self.worker_id, self.config.concurrency)
        claims = Backoff(0.1, 5.0)
        try:
            while not stop.is_set():
                self._run_periodic_tasks()
                try:
                    busy = self._claim()
                except Exception as exc:
                    delay = claims.failed()
                    log.warning(
                        "claim failed (%s); retrying in %.1fs", exception_summary(exc), delay
                    )
                    stop.wait(delay)
                    continue
                claims.succeeded()
                if busy is None:
                    # The queue was just drained: let the next jobs gather, so
                    # the next claim takes several instead of one per wake-up.
                    stop.wait(_CLAIM_LINGER_SECONDS)
                elif not busy:
                    self._wake.wait(self.config.poll_interval_seconds)
                    self._wake.clear()
        finally:
            unsubscribe()
            companions_stop.set()
            for companion in self.companions:
                companion.stop_waiting()
            self._shut_down()
            # Results handed over are written before leases stop being renewed.
            self.completer.close(self.executor.write_retry_seconds)
            shut_down.set()
            self._recheck.set()  # the heartbeat thread sees the stop at once
            self._threads.shutdown()
            self._join_helpers(helpers + companions)
            self._resign()
            self.metrics.workers.dec()
            log.info("worker %s stopped", self.worker_id)

    def _resign(self) -> None:
        if self._leadership is None or not self._leading:
            return
        try:
            self._leadership.resign()
        except Exception as exc:
            # Another worker takes over once the lease expires.
            log.warning("maintenance leadership not handed back: %s", exception_summary(exc))

    def stop_waiting(self) -> None:
        """Interrupt an idle wait, e.g. so a stop request is seen at once."""
        self._wake.set()

    def _on_notification(self, job_id: str | None) -> None:
        if job_id is None or job_id == RESYNC:
            self._wake.set()
        if job_id == RESYNC or self._runs(job_id):
            # A job running here changed, maybe by someone else (a cancel): the
            # heartbeat thread re-checks the claims now, not at its next beat.
            self._recheck.set()

    def _runs(self, job_id: str | None) -> bool:
        with self._lock:
            return any(key[0] == job_id for key in self._slots)

    def _free_slots(self) -> int:
        # Abandoned handler threads beyond `concurrency` count against the slots.
        excess = max(0, self.abandoned - self.config.concurrency)
        with self._lock:
            return self.config.concurrency - len(self._slots) - excess

    def _claim_ahead(self) -> int:
        """Jobs to hold beyond the free slots, claimed in the same statement.

        Short jobs finish faster than a claim round trip: claiming only for
        the free slots would leave slots idle between claims and spend one
        claim per few jobs. So while this worker's jobs take under
        `_SHORT_JOB_SECONDS` on average, it claims up to `concurrency` more
        and starts each as a slot frees. Longer jobs are never claimed ahead:
        a job waiting here behind long ones could run at once on an idle
        worker.
        """
        run_seconds = self._run_seconds
        if run_seconds is None or run_seconds >= _SHORT_JOB_SECONDS:
            return 0
        return self.config.concurrency

    def _claim(self) -> bool | None:
        """Claim for the free slots (and ahead). True if it got all it asked for, None
        if some, False if none or there was nothing to ask for.

        While jobs claimed ahead are still waiting, the next claim waits until
        half of them have started, so claims come in batches, not one per
        finished job.
        """
        free = self._free_slots()
        ahead = self._claim_ahead()
        with self._lock:
            ready = len(self._ready)
        wanted = free + ahead - ready
        if free <= 0 or wanted <= 0 or (ready and ready > ahead // 2):
            return False
        claimed_at = time.monotonic()
        claimed = self.store.claim(
            self.worker_id, wanted, self.config.lease_seconds, per_owner=self.config.per_owner
        )
        count_by_type(self.metrics.attempts.labels, [job.type for job in claimed])
        jobs = [
            RunningJob(
                job,
                self.worker_id,
                self.store,
                self.config.lease_seconds,
                self.config.timeout_for(job.type),
                claimed_at,
            )
            for job in claimed
        ]
        with self._lock:
            self._ready.extend(jobs)
        self._start_ready()
        if len(claimed) == wanted:
            return True
        return None if claimed else False

    def _start_ready(self) -> None:
        """Start claimed jobs while there are free slots."""
        excess = max(0, self.abandoned - self.config.concurrency)
        unstarted = []
        while True:
            with self._lock:
                if not self._ready or len(self._slots) + excess >= self.config.concurrency:
                    break
                running = self._ready.popleft()
                slot = Slot(running)
                self._slots[running.key] = slot
            running.start()
            if not self._submit(slot):
                unstarted.append(running)
        self._release(unstarted)

    def _submit(self, slot: Slot) -> bool:
        running = slot.running
        try:
            self._threads.submit(lambda: self._execute(slot))
        except RuntimeError as exc:  # no thread to be had: the process is at its limit
            log.error("job %s: no thread to run it (%s)", running.job.id, exception_summary(exc))
            with self._lock:
                self._slots.pop(running.key, None)
            running.settle()
            return False
        return True

    def _execute(self, slot: Slot) -> None:
        running = slot.running
        try:
            self.executor.execute(running)
        except Exception as exc:
            # execute() contains handler errors; this is the thread's last guard.
            log.error("job %s: executor raised %s", running.job.id, exception_summary(exc))
        finally:
            slot.done.set()
            seconds = time.monotonic() - running.started_at
            with self._lock:
                if self._slots.get(running.key) is slot:
                    del self._slots[running.key]
                average = self._run_seconds
                self._run_seconds = (
                    seconds
                    if average is None
                    else average + _RUN_SECONDS_WEIGHT * (seconds - average)
                )
            self._start_ready()
            self._wake.set()

    def _reap_expired_leases(self) -> int:
        recovered = self.store.reap_expired_leases()
        self.metrics.lease_expiries.inc(recovered)
        return recovered

    def _write_success(self, running: RunningJob, result: dict[str, Any]) -> None:
        self.executor.report(running, Succeeded(result))

    def _run_periodic_tasks(self) -> None:
        due = [task for task in self._periodic if task.now() >= task.next_due]
        for task in due:
            task.next_due = task.now() + task.interval_seconds
        for task in due:
            # Renewed before each task, so a long round never outlives the role
            # (each task's run is bounded well within the lease).
            if not self._lead():
                return
            log.debug("maintenance: %s", task.name)
            try:
                done = task.run()
            except Exception as exc:
                # Maintenance must never stop the worker; the next round retries.
                log.error("%s failed: %s", task.name, exception_summary(exc))
                continue
            if done:
                log.info(task.report.format(count=done))

    def _lead(self) -> bool:
        """Whether this worker runs maintenance now: it holds (or just took) the role."""
        if self._leadership is None:
            return True
        try:
            leading = self._leadership.hold()
        except Exception as exc:
            log.warning("maintenance leadership not renewed: %s", exception_summary(exc))
            leading = False
        if leading != self._leading:
            log.info(
                "worker %s %s maintenance",
                self.worker_id,
                "now leads" if leading else "no longer leads",
            )
            self._leading = leading
        return leading

    def _heartbeat_loop(self, stop: threading.Event) -> None:
        """Renew leases every third of the lease; between beats, re-check the claims
        as soon as a job running here is reported changed (`_on_notification`).

        A failed renewal is retried soon, with backoff, never later than the
        regular interval: two intervals can be missed before a lease expires.
        """
        interval = self.config.lease_seconds / 3
        backoff = Backoff(0.1, interval)
        delay = interval
        beat_at = time.monotonic() + delay
        while not stop.is_set():
            if self._recheck.wait(max(0.0, beat_at - time.monotonic())):
                self._recheck.clear()
                self._check_claims()
            # Re-checks never put off a beat that is due, however often they come.
            if stop.is_set() or time.monotonic() < beat_at:
                continue
            try:
                self._renew_leases()
            except Exception as exc:
                delay = backoff.failed()
                log.warning(
                    "heartbeat failed (%s); retrying in %.1fs", exception_summary(exc), delay
                )
            else:
                backoff.succeeded()
                delay = interval
            beat_at = time.monotonic() + delay

    def _held_claims(self) -> list[RunningJob]:
        """The attempts this worker holds and has not been told it lost: running, or
        claimed ahead and waiting for a slot."""
        with self._lock:
            held = [slot.running for slot in self._slots.values()] + list(self._ready)
        return [running for running in held if not running.lost]

    def _check_claims(self) -> None:
        """Mark lost the attempts whose job is no longer theirs (cancelled, taken over)."""
        running = self._held_claims()
        try:
            held = self.store.held(self.worker_id, [job.key for job in running])
        except Exception as exc:
            # Only a shortcut: the next heartbeat finds the same.
            log.debug("claim re-check failed: %s", exception_summary(exc))
            return
        for job in running:
            if job.key not in held:
                job.mark_lost()

    def _renew_leases(self) -> None:
        running = self._held_claims()
        if not running:
            return
        sent_at = time.monotonic()
        held = self.store.heartbeat(
            self.worker_id, [job.key for job in running], self.config.lease_seconds
        )
        for job in running:
            if job.key in held:
                job.renewed(sent_at)
            else:
                job.mark_lost()

    def _watchdog(self, stop: threading.Event) -> None:
        """End attempts past their run-time limit; on a thread of its own, so a
        heartbeat stuck in a slow database call does not hold up timeouts."""
        while not stop.wait(_WATCHDOG_TICK_SECONDS):
            with self._lock:
                overdue = [slot for slot in self._slots.values() if slot.running.overdue]
            for slot in overdue:
                self._time_out(slot)

    def _time_out(self, slot: Slot) -> None:
        running = slot.running
        if not running.settle():
            return  # its outcome is being written right now
        running.mark_lost()
        with self._lock:
            self._slots.pop(running.key, None)
            self._abandoned.append(slot)
            # Written on a thread of its own: through a database outage the write
            # is retried for a while, and other timeouts must not wait for it.
            reporter = threading.Thread(
                target=self.executor.time_out, args=(running,), name="timeout", daemon=True
            )
            self._reporters = [thread for thread in self._reporters if thread.is_alive()]
            self._reporters.append(reporter)
        reporter.start()
        log.warning(
            "job %s: slot freed after its timeout; %d handler thread(s) of this worker "
            "still running after their timeout",
            running.job.id,
            self.abandoned,
        )
        self._wake.set()

    def _shut_down(self) -> None:
        """Stop claiming, let in-flight jobs finish within the grace period, release the rest."""
        with self._lock:
            waiting = list(self._ready)
            self._ready.clear()
        for running in waiting:
            running.settle()
            running.mark_lost()
        self._release(waiting)  # never started: back to the queue at once
        deadline = time.monotonic() + self.config.shutdown_grace_seconds
        while (remaining := deadline - time.monotonic()) > 0:
            with self._lock:
                if not self._slots:
                    break
            self._wake.wait(remaining)
            self._wake.clear()
        with self._lock:
            slots = list(self._slots.values())
        # An attempt whose outcome is being written right now is left to finish it.
        releasing = [slot.running for slot in slots if slot.running.settle()]
        for running in releasing:
            running.mark_lost()
        self._release(releasing)
        for slot in slots:
            slot.done.wait(max(0.0, deadline + _RELEASED_JOBS_WAIT_SECONDS - time.monotonic()))
        still_running = sum(not slot.done.is_set() for slot in slots)
        if still_running:
            log.warning("%d released job(s) still running; their writes are refused", still_running)

    def _join_helpers(self, helpers: list[threading.Thread]) -> None:
        """Nothing of this worker may touch the database once run() returns (the
        caller may close the engine), but for handlers abandoned at a timeout."""
        deadline = time.monotonic() + _HELPER_THREADS_WAIT_SECONDS
        for helper in helpers:
            helper.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            reporters = list(self._reporters)
        for reporter in reporters:
            reporter.join(max(0.0, deadline - time.monotonic()))

    def _release(self, jobs: list[RunningJob]) -> None:
        if not jobs:
            return
        keys = [job.key for job in jobs]
        try:
            released = self.store.release(
                self.worker_id, keys, max_releases=self.config.max_releases
            )
        except Exception as exc:
            log.warning(
                "could not release %d job(s) (%s); they run again once their lease expires",
                len(keys),
                exception_summary(exc),
            )
            return
        if released:
            log.info("released %d unfinished job(s) back to the queue", released)
