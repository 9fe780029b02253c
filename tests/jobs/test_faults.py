"""The worker through injected faults, on SQLite and the real PostgreSQL.

Faults come from `FaultyStore`, a seam in front of the real store: chosen
calls raise a database error or stall, everything else reaches the database.
In every scenario each job ends exactly once with its handler's own outcome,
no two attempts of a job run at the same time, and the worker never runs more
handlers at once than it has slots.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from nxdocs.jobs.model import ARTIFACT_CREATE, EXPORT_RUN, JobState, JobView
from nxdocs.jobs.runner import WorkerThread
from nxdocs.jobs.store import JobStore
from nxdocs.jobs.worker import Worker, WorkerConfig
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support.clock import ManualClock
from tests.support.faults import FaultyStore, RecordingHandler
from tests.support.jobs import enqueue, set_row, state_of
from tests.support.waiting import wait_until

LEASE = 1.5
CONCURRENCY = 3


@dataclass
class Rig:
    system: System
    store: FaultyStore
    handler: RecordingHandler
    worker: Worker
    owner: str

    def start(self) -> WorkerThread:
        thread = WorkerThread(self.worker)
        thread.start()
        return thread

    def enqueue(self, payload: dict[str, Any], max_attempts: int = 3) -> str:
        return enqueue(self.system, self.owner, payload, max_attempts=max_attempts)

    def finished(self, job_id: str, timeout: float = 60.0) -> JobView:
        def terminal() -> JobView | None:
            view = self.system.store.get(job_id, self.owner)
            return view if view is not None and view.state.is_terminal else None

        return wait_until(terminal, timeout=timeout, interval=0.02)

    def assert_sound(self, ids: list[str]) -> None:
        """Each job succeeded once, attempts never overlapped, slots never overrun."""
        for job_id in ids:
            view = self.finished(job_id)
            assert view.state is JobState.SUCCEEDED, (job_id, view.error)
            assert view.result == {"artifact_id": f"doc_{job_id}_{view.attempts}"}
            assert self.handler.completed[job_id] == view.attempts
        assert self.handler.completed_twice == []
        assert self.handler.overlaps() == []
        assert self.handler.most_running <= CONCURRENCY


def rig_for(settings: Settings, clock: ManualClock | None = None, **config: Any) -> Rig:
    system = build_system(settings, clock=clock)
    handler = RecordingHandler(ARTIFACT_CREATE)
    system.registry.register(handler)
    system.registry.register(RecordingHandler(EXPORT_RUN))
    store = FaultyStore(system.store)
    base = system.worker_config()
    worker_config = WorkerConfig(
        concurrency=config.get("concurrency", CONCURRENCY),
        lease_seconds=config.get("lease_seconds", LEASE),
        poll_interval_seconds=0.1,
        shutdown_grace_seconds=config.get("shutdown_grace_seconds", 5),
        policy=base.policy,
        max_releases=config.get("max_releases", 3),
        timeouts=config.get("timeouts", {}),
    )
    # The seam stands where the worker expects its store.
    worker = Worker(_as_store(store), system.registry, worker_config)
    return Rig(system, store, handler, worker, system.keys.create("faults").owner_id)


def _as_store(store: FaultyStore) -> JobStore:
    return store  # type: ignore[return-value]  # duck-typed: every call reaches a JobStore


@pytest.fixture
def rig(settings: Settings) -> Iterator[Rig]:
    built = rig_for(settings)
    yield built
    built.handler.release.set()
    built.system.close()


@pytest.fixture
def running(rig: Rig) -> Iterator[Rig]:
    thread = rig.start()
    yield rig
    rig.handler.release.set()
    thread.stop(timeout=30)
    assert not thread.alive


def test_a_failed_heartbeat_is_retried_and_long_jobs_keep_their_lease(running: Rig) -> None:
    # Every attempt outlasts the lease: without renewals each one would be reaped.
    running.store.inject_error("heartbeat", times=1)
    ids = [running.enqueue({"default": LEASE * 1.7}) for _ in range(CONCURRENCY)]
    running.assert_sound(ids)
    assert running.store.injected["heartbeat"] == 1
    assert running.store.calls["heartbeat"] > 1


def test_heartbeats_go_on_through_a_run_of_database_errors(running: Rig) -> None:
    running.store.inject_error("heartbeat", times=4)
    ids = [running.enqueue({"default": LEASE * 1.7}) for _ in range(2)]
    running.assert_sound(ids)
    assert running.store.injected["heartbeat"] == 4


def test_claim_errors_are_retried_and_the_loop_goes_on(running: Rig) -> None:
    running.store.inject_error("claim", times=3)
    ids = [running.enqueue({"default": 0.05}) for _ in range(5)]
    running.assert_sound(ids)
    assert running.store.injected["claim"] == 3


def test_a_heartbeat_stalled_past_the_lease_never_lets_two_attempts_overlap(
    running: Rig,
) -> None:
    """The stalled worker counts its leases lost before the database can reap them:
    its handlers stop, and the attempts that replace them start after."""
    running.store.inject_stall("heartbeat", seconds=LEASE * 1.6)
    ids = [running.enqueue({"seconds": {"1": LEASE * 2}, "default": 0.2}, 5) for _ in range(2)]
    running.assert_sound(ids)
    assert running.store.injected["heartbeat"] == 1
    views = [running.finished(job_id) for job_id in ids]
    assert all(view.attempts >= 2 for view in views)


def test_a_failed_completion_write_is_retried(running: Rig) -> None:
    # The first batch of completions fails; its jobs are written one at a time,
    # and those writes fail twice more before they go through.
    running.store.inject_error("complete_many", times=1)
    running.store.inject_error("complete", times=2)
    ids = [running.enqueue({"default": 0.05}) for _ in range(3)]
    running.assert_sound(ids)
    assert [running.finished(job_id).attempts for job_id in ids] == [1, 1, 1]
    assert running.store.injected["complete_many"] == 1
    assert running.store.injected["complete"] == 2


def test_a_failed_failure_write_is_retried(running: Rig) -> None:
    running.store.inject_error("fail", times=2)
    # No handler runs this type: the job fails for good at once, through `fail`.
    job_id = enqueue(running.system, running.owner, {}, job_type="no.such.type")
    view = running.finished(job_id)
    assert view.state is JobState.FAILED
    assert view.error is not None
    assert (view.error.code, view.attempts) == ("UNKNOWN_JOB_TYPE", 1)
    assert running.store.injected["fail"] == 2


def test_the_same_worker_claiming_its_job_again_keeps_the_attempts_apart(
    rig: Rig,
) -> None:
    """Attempt 1 runs on, ignoring its lease, after another node requeued the job.
    This worker claims attempt 2 beside it: attempt 2 gets its own slot and its
    own heartbeats, and attempt 1's late result is refused."""
    thread = rig.start()
    try:
        job_id = rig.enqueue({"ignore_lease": {"1": True}, "seconds": {"2": LEASE * 2}})
        wait_until(lambda: state_of(rig.system, job_id)["state"] == "running")
        set_row(rig.system, job_id, state="queued", worker_id=None, lease_expires_at=None)
        wait_until(lambda: state_of(rig.system, job_id)["attempts"] == 2, interval=0.02)
        assert rig.worker.running == 2
        wait_until(lambda: any(run.attempt == 2 for run in rig.handler.runs), timeout=30)
        rig.handler.release.set()  # attempt 1 returns its result now: refused
        view = rig.finished(job_id)
        assert view.state is JobState.SUCCEEDED
        assert (view.attempts, view.result) == (2, {"artifact_id": f"doc_{job_id}_2"})
        assert rig.handler.completed == {job_id: 2}
        wait_until(lambda: rig.worker.running == 0)
    finally:
        rig.handler.release.set()
        thread.stop(timeout=30)


def test_a_runaway_handler_times_out_and_frees_its_slot(settings: Settings) -> None:
    rig = rig_for(settings, concurrency=1, timeouts={ARTIFACT_CREATE: 0.3})
    thread = rig.start()
    try:
        runaway = rig.enqueue({"ignore_lease": {"1": True}}, max_attempts=1)
        view = rig.finished(runaway)
        assert view.state is JobState.FAILED
        assert view.error is not None
        assert view.error.code == "ATTEMPTS_EXHAUSTED"
        assert "JOB_TIMEOUT" in view.error.message
        # The runaway handler still holds its thread, yet the one slot is free.
        assert rig.handler.running == 1
        after = rig.enqueue({"default": 0.0})
        assert rig.finished(after).state is JobState.SUCCEEDED
        assert rig.worker.abandoned == 1

        # Abandoned threads beyond the concurrency take slots: no unbounded pile.
        second = rig.enqueue({"ignore_lease": {"1": True}}, max_attempts=1)
        assert rig.finished(second).state is JobState.FAILED
        wait_until(lambda: rig.worker.abandoned == 2)
        waiting = rig.enqueue({"default": 0.0})
        assert rig.worker.running == 0
        assert state_of(rig.system, waiting)["state"] == "queued"
        rig.handler.release.set()  # the runaways return at last; their writes are refused
        assert rig.finished(waiting).state is JobState.SUCCEEDED
        assert rig.handler.completed.keys() == {after, waiting}
    finally:
        rig.handler.release.set()
        thread.stop(timeout=30)
        rig.system.close()


def test_a_timed_out_attempt_is_retried(settings: Settings) -> None:
    rig = rig_for(settings, timeouts={ARTIFACT_CREATE: 0.3})
    thread = rig.start()
    try:
        job_id = rig.enqueue({"ignore_lease": {"1": True}})
        view = rig.finished(job_id)
        assert (view.state, view.attempts) == (JobState.SUCCEEDED, 2)
    finally:
        rig.handler.release.set()
        thread.stop(timeout=30)
        rig.system.close()


def test_a_worker_whose_clock_runs_a_minute_ahead_reaps_nothing_early(
    settings: Settings,
) -> None:
    ahead = ManualClock()
    ahead.advance(60)
    rig = rig_for(settings, clock=ahead)
    # Another node, whose clock is right, holds the job with a lease of 30 s.
    elsewhere = build_system(settings)
    job_id = enqueue(elsewhere, rig.owner, {})
    assert [job.id for job in elsewhere.store.claim("elsewhere", 1, 30.0)] == [job_id]
    thread = rig.start()
    try:
        reaps = rig.store.calls["reap_expired_leases"]
        wait_until(lambda: rig.store.calls["reap_expired_leases"] >= reaps + 3, timeout=30)
        row = state_of(rig.system, job_id)
        assert (row["state"], row["worker_id"], row["attempts"]) == ("running", "elsewhere", 1)
    finally:
        thread.stop(timeout=30)
        elsewhere.close()
        rig.system.close()


def test_a_failed_snooze_write_is_retried(running: Rig) -> None:
    running.store.inject_error("snooze", times=2)
    job_id = running.enqueue({"snooze": True})
    view = running.finished(job_id)
    assert (view.state, view.attempts) == (JobState.SUCCEEDED, 1)  # a snooze spends no attempt
    assert running.store.injected["snooze"] == 2
    assert running.handler.snoozed == {job_id: True}


def test_shutdowns_past_max_releases_spend_attempts_until_the_job_ends(
    settings: Settings,
) -> None:
    """A job that outlives every shutdown's grace period still ends."""
    rig = rig_for(settings, max_releases=1, shutdown_grace_seconds=0.2)
    job_id = rig.enqueue({"default": 3600.0}, max_attempts=2)
    rows = []
    try:
        for _ in range(3):
            thread = rig.start()
            wait_until(lambda: state_of(rig.system, job_id)["state"] == "running")
            thread.stop(timeout=30)
            row = state_of(rig.system, job_id)
            rows.append((row["state"], row["attempts"], row["releases"]))
    finally:
        rig.handler.release.set()
        rig.system.close()
    # The first release is free, the second spends attempt 1, the third ends the job.
    assert rows == [("queued", 0, 1), ("queued", 1, 2), ("failed", 2, 2)]
    assert rig.handler.overlaps() == []


class DiesOnce(Worker):
    """A worker loop with a bug that ends its first run."""

    runs = 0

    def run(self, stop: threading.Event) -> None:
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError("a bug in the loop")
        super().run(stop)


def test_a_worker_loop_that_dies_is_restarted(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    worker = DiesOnce(rig.worker.store, rig.system.registry, rig.worker.config)
    thread = WorkerThread(worker)
    thread.start()
    try:
        job_id = rig.enqueue({"default": 0.0})
        assert rig.finished(job_id).state is JobState.SUCCEEDED
        assert worker.runs == 2
        assert thread.alive
        assert "worker loop died (RuntimeError at" in caplog.text
    finally:
        thread.stop(timeout=30)
    assert not thread.alive
