"""The job store's contract, run against SQLite and the real PostgreSQL alike."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from nxdocs.jobs.model import ClaimedJob, ErrorInfo, JobState
from nxdocs.jobs.retry import GiveUp, RetryAt
from nxdocs.system import System
from tests.support.clock import ManualClock
from tests.support.jobs import enqueue, state_of

LEASE = 30.0


@pytest.fixture
def owner(system: System) -> str:
    return system.keys.create("test").owner_id


def claim_one(system: System, worker: str = "w1") -> ClaimedJob:
    claimed = system.store.claim(worker, 1, LEASE)
    assert len(claimed) == 1
    return claimed[0]


def test_enqueued_job_is_visible_to_its_owner_only(system: System, owner: str) -> None:
    job_id = enqueue(system, owner, {"x": 1})
    view = system.store.get(job_id, owner)
    assert view is not None
    assert view.state is JobState.QUEUED
    assert view.state.public_status == "processing"
    other = system.keys.create("other", new_owner=True).owner_id
    assert system.store.get(job_id, other) is None


def test_claim_takes_queued_jobs_once(system: System, owner: str) -> None:
    ids = {enqueue(system, owner, {"n": n}) for n in range(3)}
    claimed = system.store.claim("w1", 10, LEASE)
    assert {job.id for job in claimed} == ids
    assert all(job.attempt == 1 for job in claimed)
    assert claimed[0].payload.keys() == {"n"}
    assert system.store.claim("w2", 10, LEASE) == []
    assert all(state_of(system, job_id)["worker_id"] == "w1" for job_id in ids)


def test_claim_respects_limit_and_run_at_order(
    system: System, owner: str, clock: ManualClock
) -> None:
    first = enqueue(system, owner)
    clock.advance(1)
    second = enqueue(system, owner)
    assert [job.id for job in system.store.claim("w1", 1, LEASE)] == [first]
    assert [job.id for job in system.store.claim("w1", 1, LEASE)] == [second]


def test_concurrent_claimers_take_disjoint_jobs(system: System, owner: str) -> None:
    ids = {enqueue(system, owner, {"n": n}) for n in range(60)}
    results: list[list[ClaimedJob]] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def claimer(name: str) -> None:
        start.wait()
        mine: list[ClaimedJob] = []
        while batch := system.store.claim(name, 4, LEASE):
            mine.extend(batch)
        with lock:
            results.append(mine)

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    claimed = [job.id for batch in results for job in batch]
    assert len(claimed) == len(set(claimed)) == len(ids)
    assert set(claimed) == ids


def test_complete_records_result_and_is_fenced(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    assert not system.store.complete(job, "someone-else", {"artifact_id": "doc_x"})
    assert system.store.complete(job, "w1", {"artifact_id": "doc_x"})
    view = system.store.get(job_id, owner)
    assert view is not None
    assert view.state is JobState.SUCCEEDED
    assert view.result == {"artifact_id": "doc_x"}
    assert view.error is None
    assert not system.store.complete(job, "w1", {"artifact_id": "doc_y"})


def test_retry_requeues_at_the_decided_time(system: System, owner: str, clock: ManualClock) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    later = clock.now_ms() + 5_000
    assert system.store.fail(job, "w1", ErrorInfo("FLAKY", "try again"), RetryAt(later))
    row = state_of(system, job_id)
    assert (row["state"], row["run_at"], row["worker_id"]) == ("queued", later, None)
    view = system.store.get(job_id, owner)
    assert view is not None
    assert view.error is None  # a queued retry shows no error to the client
    assert system.store.claim("w1", 1, LEASE) == []
    clock.advance(5)
    assert claim_one(system).attempt == 2


def test_give_up_fails_the_job_with_its_error(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    assert system.store.fail(job, "w1", ErrorInfo("RENDER_FAILED", "bad page"), GiveUp())
    view = system.store.get(job_id, owner)
    assert view is not None
    assert (view.state, view.error) == (JobState.FAILED, ErrorInfo("RENDER_FAILED", "bad page"))


def test_heartbeat_extends_only_held_leases(system: System, owner: str, clock: ManualClock) -> None:
    job_id = enqueue(system, owner)
    claim_one(system)
    before = state_of(system, job_id)["lease_expires_at"]
    clock.advance(10)
    assert system.store.heartbeat("w1", [job_id], LEASE) == {job_id}
    assert state_of(system, job_id)["lease_expires_at"] == before + 10_000
    assert system.store.heartbeat("w2", [job_id], LEASE) == set()


def test_expired_lease_is_claimed_again_and_old_worker_is_fenced(
    system: System, owner: str, clock: ManualClock
) -> None:
    job_id = enqueue(system, owner)
    stale = claim_one(system, "w1")
    clock.advance(LEASE + 1)
    assert system.store.reap_expired_leases() == 1
    fresh = claim_one(system, "w2")
    assert (fresh.id, fresh.attempt) == (job_id, 2)
    assert not system.store.complete(stale, "w1", {"from": "stale"})
    assert system.store.complete(fresh, "w2", {"from": "fresh"})
    view = system.store.get(job_id, owner)
    assert view is not None
    assert view.result == {"from": "fresh"}


def test_lease_expiry_on_last_attempt_fails_the_job(
    system: System, owner: str, clock: ManualClock
) -> None:
    job_id = enqueue(system, owner, max_attempts=1)
    claim_one(system)
    clock.advance(LEASE + 1)
    assert system.store.reap_expired_leases() == 1
    view = system.store.get(job_id, owner)
    assert view is not None
    assert view.state is JobState.FAILED
    assert view.error is not None
    assert view.error.code == "ATTEMPTS_EXHAUSTED"
    assert "1 attempts" in view.error.message


def test_unexpired_leases_are_left_alone(system: System, owner: str, clock: ManualClock) -> None:
    enqueue(system, owner)
    claim_one(system)
    clock.advance(LEASE - 1)
    assert system.store.reap_expired_leases() == 0


def test_release_returns_jobs_without_spending_an_attempt(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    claim_one(system)
    assert system.store.release("w1", [job_id]) == 1
    row = state_of(system, job_id)
    assert (row["state"], row["attempts"], row["worker_id"]) == ("queued", 0, None)


def test_progress_is_stored_and_fenced(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    assert system.store.report_progress(job, "w1", 3, 10)
    assert not system.store.report_progress(job, "w2", 4, 10)
    view = system.store.get(job_id, owner)
    assert view is not None
    assert (view.progress_done, view.progress_total) == (3, 10)


class FailingHook:
    def on_succeeded(self, connection: sa.Connection, job: ClaimedJob, result: Any) -> None:
        raise RuntimeError("resource write failed")

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        raise RuntimeError("resource write failed")


def test_terminal_state_and_resource_write_commit_together(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    system.store.hooks = FailingHook()
    with pytest.raises(RuntimeError):
        system.store.complete(job, "w1", {"artifact_id": "doc_x"})
    with pytest.raises(RuntimeError):
        system.store.fail(job, "w1", ErrorInfo("X", "y"), GiveUp())
    assert state_of(system, job_id)["state"] == "running"


def test_claiming_reads_an_index_not_the_table(system: System) -> None:
    """The claim query's plan names the partial index on claimable rows."""
    with system.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM jobs WHERE state = 'queued' "
                "AND run_at <= 0 ORDER BY run_at LIMIT 1"
            ).all()
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = connection.exec_driver_sql(
                "EXPLAIN SELECT id FROM jobs WHERE state = 'queued' "
                "AND run_at <= 0 ORDER BY run_at LIMIT 1"
            ).all()
    assert "ix_jobs_claimable" in " ".join(str(part) for row in plan for part in row)
