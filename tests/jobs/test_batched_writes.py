"""The queue's fast paths, on SQLite and the real PostgreSQL: completions written in
batches, jobs claimed ahead of free slots, and a job enqueued on its own.

Batching must not change what a job's row says: each batch is fenced per job
as a single completion is, a batch that cannot be written falls back to one
write per job, and jobs held ahead are released untouched at a stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest

from nxdocs.ids import new_id
from nxdocs.jobs.completer import Completer
from nxdocs.jobs.execute import RunningJob
from nxdocs.jobs.model import ARTIFACT_CREATE, ClaimedJob, JobState, NewJob
from nxdocs.jobs.runner import WorkerThread
from nxdocs.jobs.store import ClaimKey, JobStore
from nxdocs.jobs.worker import Worker, WorkerConfig
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support.faults import RecordingHandler
from tests.support.jobs import enqueue, set_row, state_of, wait_succeeded, woken_worker
from tests.support.waiting import wait_until

WORKER = "worker-a"
LEASE = 30.0


@pytest.fixture
def recorded(settings: Settings) -> Iterator[tuple[System, RecordingHandler, str]]:
    system = build_system(settings)
    handler = RecordingHandler(ARTIFACT_CREATE)
    system.registry.register(handler)
    yield system, handler, system.keys.create("batches").owner_id
    handler.release.set()
    system.close()


def _claimed(system: System, owner: str, count: int) -> list[ClaimedJob]:
    for _ in range(count):
        enqueue(system, owner)
    claimed = system.store.claim(WORKER, count, LEASE)
    assert len(claimed) == count
    return claimed


def _running(system: System, job: ClaimedJob) -> RunningJob:
    return RunningJob(job, WORKER, system.store, LEASE, 60.0, time.monotonic())


def test_a_batch_writes_only_the_jobs_still_held(
    recorded: tuple[System, RecordingHandler, str],
) -> None:
    system, handler, owner = recorded
    kept, lost, taken = _claimed(system, owner, 3)
    system.store.release(WORKER, [(lost.id, lost.run_id)], max_releases=3)
    set_row(system, taken.id, worker_id="worker-b")
    done = [(job, {"artifact_id": f"doc_{job.id}"}) for job in (kept, lost, taken)]

    written = system.store.complete_many(WORKER, done)

    assert written == {(kept.id, kept.run_id)}
    assert state_of(system, kept.id)["state"] == JobState.SUCCEEDED
    assert state_of(system, lost.id)["state"] == JobState.QUEUED
    assert state_of(system, taken.id)["state"] == JobState.RUNNING
    assert handler.completed == {kept.id: 1}  # hooks ran for the written job only
    view = system.store.get(kept.id, owner)
    assert view is not None
    assert view.result == {"artifact_id": f"doc_{kept.id}"}


class _GatedStore:
    """The real store; its first `complete_many` waits until the test opens the gate,
    so the test knows exactly what queues up behind it."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.batches: list[int] = []

    def complete_many(
        self, worker_id: str, done: Sequence[tuple[ClaimedJob, dict[str, Any]]]
    ) -> set[ClaimKey]:
        self.batches.append(len(done))
        self.entered.set()
        assert self.gate.wait(30)
        return self.store.complete_many(worker_id, done)


def test_results_handed_over_during_a_write_go_in_the_next_batch(
    recorded: tuple[System, RecordingHandler, str],
) -> None:
    system, _, owner = recorded
    first, *rest = [_running(system, job) for job in _claimed(system, owner, 4)]
    store = _GatedStore(system.store)
    written_alone: list[str] = []
    completer = Completer(
        store,  # type: ignore[arg-type]  # duck-typed: complete_many is all it calls
        WORKER,
        lambda running, _: written_alone.append(running.job.id),
    )
    completer.start()
    completer.submit(first, {"artifact_id": "doc_1"})
    assert store.entered.wait(30)
    for running in rest:
        completer.submit(running, {"artifact_id": "doc_n"})
    store.gate.set()
    completer.close(timeout=30)

    assert store.batches == [1, 3]
    assert written_alone == []
    for running in (first, *rest):
        assert state_of(system, running.job.id)["state"] == JobState.SUCCEEDED
        assert not running.lost


class _FailingStore:
    """The real store, but a batch write always fails (a hook raised, say)."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    def complete_many(
        self, worker_id: str, done: Sequence[tuple[ClaimedJob, dict[str, Any]]]
    ) -> set[ClaimKey]:
        raise RuntimeError("a hook raised")


def test_a_batch_that_fails_is_written_one_job_at_a_time(
    recorded: tuple[System, RecordingHandler, str],
) -> None:
    system, _, owner = recorded
    runs = [_running(system, job) for job in _claimed(system, owner, 3)]

    def write_one(running: RunningJob, result: dict[str, Any]) -> None:
        assert system.store.complete(running.job, WORKER, result)

    completer = Completer(
        _FailingStore(system.store),  # type: ignore[arg-type]  # duck-typed
        WORKER,
        write_one,
    )
    completer.start()
    for running in runs:
        completer.submit(running, {"artifact_id": "doc_x"})
    completer.close(timeout=30)

    for running in runs:
        assert state_of(system, running.job.id)["state"] == JobState.SUCCEEDED


def test_a_refused_result_marks_the_attempt_lost(
    recorded: tuple[System, RecordingHandler, str],
) -> None:
    system, _, owner = recorded
    (job,) = _claimed(system, owner, 1)
    set_row(system, job.id, worker_id="worker-b")  # taken over after a lost lease
    running = _running(system, job)
    completer = Completer(system.store, WORKER, lambda *_: None)
    completer.start()
    completer.submit(running, {"artifact_id": "doc_late"})
    completer.close(timeout=30)
    assert running.lost
    assert state_of(system, job.id)["state"] == JobState.RUNNING


class _ClaimRecorder:
    """The real store, noting the limit of every claim the worker makes."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self.limits: list[int] = []

    def claim(self, worker_id: str, limit: int, lease_seconds: float, **kwargs: Any) -> Any:
        self.limits.append(limit)
        return self._store.claim(worker_id, limit, lease_seconds, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@contextmanager
def _working(system: System, concurrency: int) -> Iterator[_ClaimRecorder]:
    """A worker on its thread, claiming through a recorder, stopped at the end."""
    store = _ClaimRecorder(system.store)
    thread = WorkerThread(_worker(system, store, concurrency))
    thread.start()
    try:
        yield store
    finally:
        thread.stop(timeout=30)


def _worker(system: System, store: _ClaimRecorder, concurrency: int) -> Worker:
    config = WorkerConfig(
        concurrency=concurrency,
        lease_seconds=LEASE,
        poll_interval_seconds=0.1,
        shutdown_grace_seconds=10,
        policy=system.worker_config().policy,
        max_running_per_owner=0,
    )
    return Worker(store, system.registry, config)  # type: ignore[arg-type]  # duck-typed


def _enqueue_together(system: System, owner: str, payloads: list[dict[str, Any]]) -> list[str]:
    """Jobs made visible in one commit, so one claim can see them all."""
    jobs = [NewJob(new_id("job"), owner, ARTIFACT_CREATE, payload) for payload in payloads]
    with system.engine.begin() as connection:
        for job in jobs:
            system.store.enqueue(connection, job, max_attempts=3)
    return [job.id for job in jobs]


def _finished(system: System, owner: str, ids: list[str]) -> None:
    def all_done() -> bool:
        views = [system.store.get(job_id, owner) for job_id in ids]
        return all(view is not None and view.state is JobState.SUCCEEDED for view in views)

    wait_until(all_done, timeout=60, interval=0.02)


def test_short_jobs_are_claimed_ahead_of_the_free_slots(
    recorded: tuple[System, RecordingHandler, str],
) -> None:
    system, handler, owner = recorded
    with _working(system, concurrency=2) as store:
        _finished(system, owner, _enqueue_together(system, owner, [{}]))  # one short job
        ids = _enqueue_together(system, owner, [{} for _ in range(30)])
        _finished(system, owner, ids)
    assert max(store.limits) == 4  # two free slots and two ahead
    assert handler.most_running <= 2


def test_long_jobs_are_never_claimed_ahead(
    recorded: tuple[System, RecordingHandler, str],
) -> None:
    system, handler, owner = recorded
    with _working(system, concurrency=2) as store:
        ids = _enqueue_together(system, owner, [{"default": 0.06} for _ in range(6)])
        _finished(system, owner, ids)
    assert max(store.limits) <= 2
    assert handler.most_running <= 2


def test_jobs_claimed_ahead_go_back_untouched_at_a_stop(
    recorded: tuple[System, RecordingHandler, str],
) -> None:
    system, handler, owner = recorded
    with _working(system, concurrency=1):
        _finished(system, owner, _enqueue_together(system, owner, [{}]))  # short: claim ahead
        slow, waiting = _enqueue_together(system, owner, [{"default": 0.5}, {"default": 0.5}])

        def one_running_one_held() -> bool:
            rows = [state_of(system, job_id) for job_id in (slow, waiting)]
            return handler.running == 1 and all(row["state"] == JobState.RUNNING for row in rows)

        wait_until(one_running_one_held, timeout=30, interval=0.01)

    started = {run.job_id for run in handler.runs}
    held = waiting if slow in started else slow
    row = state_of(system, held)
    assert row["state"] == JobState.QUEUED
    assert row["attempts"] == 0  # the attempt it never started is handed back
    assert handler.completed_twice == []


def test_a_job_submitted_alone_wakes_a_waiting_worker(settings: Settings) -> None:
    with woken_worker(settings) as (system, owner):
        job = NewJob(new_id("job"), owner, ARTIFACT_CREATE, {})
        system.store.submit(job, max_attempts=3)
        wait_succeeded(system, owner, job.id)
