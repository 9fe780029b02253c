"""The worker loop: claim -> execute -> report, with leases kept alive and a clean stop."""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from nxdocs.ids import new_id
from nxdocs.jobs.execute import Executor, RunningJob
from nxdocs.jobs.handlers import HandlerRegistry
from nxdocs.jobs.notify import RESYNC
from nxdocs.jobs.retry import RetryPolicy
from nxdocs.jobs.store import JobStore
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)

# Released jobs' handlers are told their lease is lost; those that check
# return within moments, and waiting for them keeps their threads from
# touching the database after the worker has returned.
_RELEASED_JOBS_WAIT_SECONDS = 5.0


@dataclass
class PeriodicTask:
    """Maintenance a worker runs every `interval_seconds` between claims."""

    name: str
    interval_seconds: float
    run: Callable[[], int]
    report: str
    """Logged when `run` did something, e.g. "recovered {count} job(s)"."""
    next_due_ms: int = 0


@dataclass(frozen=True)
class WorkerConfig:
    concurrency: int
    lease_seconds: float
    poll_interval_seconds: float
    shutdown_grace_seconds: float
    policy: RetryPolicy


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[2:10]}"


class Worker:
    """Runs up to `concurrency` jobs at a time in threads until `stop` is set."""

    def __init__(
        self,
        store: JobStore,
        registry: HandlerRegistry,
        config: WorkerConfig,
        worker_id: str | None = None,
        periodic: list[PeriodicTask] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.worker_id = worker_id or new_worker_id()
        self.executor = Executor(
            store,
            registry,
            config.policy,
            self.worker_id,
            random.Random(),  # noqa: S311 (jitter, not a secret)
        )
        self._wake = threading.Event()
        self._in_flight: dict[str, RunningJob] = {}
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()
        # Expired leases are recovered at half the lease, so a lost job waits at
        # most 1.5 leases.
        reap = PeriodicTask(
            "lease recovery",
            config.lease_seconds / 2,
            store.reap_expired_leases,
            "recovered {count} job(s) whose lease expired",
        )
        self._periodic = [reap, *(periodic or [])]

    def run(self, stop: threading.Event) -> None:
        unsubscribe = self.store.notifier.subscribe(self._on_notification)
        # Leases are renewed until the shutdown has finished or released every
        # job, not just until `stop`: jobs run on through the grace period.
        shut_down = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat_loop, args=(shut_down,), daemon=True)
        pool = ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="job")
        heartbeat.start()
        log.info("worker %s started, concurrency %d", self.worker_id, self.config.concurrency)
        try:
            while not stop.is_set():
                self._run_periodic_tasks()
                if not self._claim_into(pool):
                    self._wake.wait(self.config.poll_interval_seconds)
                    self._wake.clear()
        finally:
            unsubscribe()
            self._shut_down(pool)
            shut_down.set()
            log.info("worker %s stopped", self.worker_id)

    def stop_waiting(self) -> None:
        """Interrupt an idle wait, e.g. so a stop request is seen at once."""
        self._wake.set()

    def _on_notification(self, job_id: str | None) -> None:
        if job_id is None or job_id == RESYNC:
            self._wake.set()

    def _claim_into(self, pool: ThreadPoolExecutor) -> bool:
        """Claim as many jobs as there are free slots; False when there was nothing to do."""
        with self._lock:
            free = self.config.concurrency - len(self._in_flight)
        if free <= 0:
            return False
        claimed = self.store.claim(self.worker_id, free, self.config.lease_seconds)
        for job in claimed:
            running = RunningJob(job, self.worker_id, self.store, self.config.lease_seconds)
            with self._lock:
                self._in_flight[job.id] = running
            future = pool.submit(self.executor.execute, running)
            with self._lock:
                self._futures.add(future)
            future.add_done_callback(self._finished_callback(job.id))
        return len(claimed) == free

    def _finished_callback(self, job_id: str) -> Callable[[Future[None]], None]:
        def done(future: Future[None]) -> None:
            with self._lock:
                self._in_flight.pop(job_id, None)
                self._futures.discard(future)
            self._wake.set()

        return done

    def _run_periodic_tasks(self) -> None:
        now = self.store.clock.now_ms()
        for task in self._periodic:
            if now < task.next_due_ms:
                continue
            task.next_due_ms = now + int(task.interval_seconds * 1000)
            try:
                done = task.run()
            except Exception as exc:
                # Maintenance must never stop the worker; the next round retries.
                log.error("%s failed: %s", task.name, exception_summary(exc))
                continue
            if done:
                log.info(task.report.format(count=done))

    def _heartbeat_loop(self, stop: threading.Event) -> None:
        # A third of the lease: two heartbeats can be missed before it expires.
        interval = self.config.lease_seconds / 3
        while not stop.wait(interval):
            with self._lock:
                running = dict(self._in_flight)
            held = self.store.heartbeat(self.worker_id, list(running), self.config.lease_seconds)
            for job_id, job in running.items():
                if job_id not in held:
                    job.lost.set()

    def _shut_down(self, pool: ThreadPoolExecutor) -> None:
        """Stop claiming, let in-flight jobs finish within the grace period, release the rest."""
        # No cancel_futures: a cancelled future would run its done-callback and
        # drop the job from _in_flight before we release it below.
        pool.shutdown(wait=False)
        deadline = time.monotonic() + self.config.shutdown_grace_seconds
        while (remaining := deadline - time.monotonic()) > 0:
            with self._lock:
                if not self._in_flight:
                    break
            self._wake.wait(remaining)
            self._wake.clear()
        with self._lock:
            unfinished = list(self._in_flight.values())
        for job in unfinished:
            job.lost.set()
        released = self.store.release(self.worker_id, [job.job.id for job in unfinished])
        if released:
            log.info("released %d unfinished job(s) back to the queue", released)
        with self._lock:
            running = list(self._futures)
        _, still_running = wait(running, timeout=_RELEASED_JOBS_WAIT_SECONDS)
        if still_running:
            log.warning(
                "%d released job(s) still running; their writes are refused", len(still_running)
            )
