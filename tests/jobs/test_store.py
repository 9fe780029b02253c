"""The job store's contract, run against SQLite and the real PostgreSQL alike."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, ClaimedJob, ErrorInfo, Fence, JobState, NewJob
from nxdocs.jobs.retry import GiveUp, RetryIn
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers
from tests.support.clock import ManualClock
from tests.support.jobs import database_now_ms, enqueue, expire_lease, set_row, state_of

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


def test_claim_respects_limit_and_run_at_order(system: System, owner: str) -> None:
    second = enqueue(system, owner)
    first = enqueue(system, owner)
    set_row(system, first, run_at=state_of(system, second)["run_at"] - 1000)
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


def test_retry_requeues_after_the_decided_delay_on_the_database_clock(
    system: System, owner: str
) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    before = database_now_ms(system)
    assert system.store.fail(job, "w1", ErrorInfo("FLAKY", "try again"), RetryIn(60_000))
    after = database_now_ms(system)
    row = state_of(system, job_id)
    assert (row["state"], row["worker_id"]) == ("queued", None)
    assert before + 60_000 <= row["run_at"] <= after + 60_000
    view = system.store.get(job_id, owner)
    assert view is not None
    assert view.error is None  # a queued retry shows no error to the client
    assert system.store.claim("w1", 1, LEASE) == []
    set_row(system, job_id, run_at=row["run_at"] - 60_000)
    assert claim_one(system).attempt == 2


def test_give_up_fails_the_job_with_its_error(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    assert system.store.fail(job, "w1", ErrorInfo("RENDER_FAILED", "bad page"), GiveUp())
    view = system.store.get(job_id, owner)
    assert view is not None
    assert (view.state, view.error) == (JobState.FAILED, ErrorInfo("RENDER_FAILED", "bad page"))


def test_heartbeat_extends_only_leases_held_under_that_claim(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    set_row(system, job_id, lease_expires_at=0)
    now = database_now_ms(system)
    key = (job_id, job.run_id)
    assert system.store.heartbeat("w1", [key], LEASE) == {key}
    assert state_of(system, job_id)["lease_expires_at"] >= now + LEASE * 1000
    assert system.store.heartbeat("w2", [key], LEASE) == set()
    # An older claim of the same job, by the same worker, holds nothing.
    assert system.store.heartbeat("w1", [(job_id, "older")], LEASE) == set()


def test_every_claim_gets_a_new_run_id_even_for_the_same_attempt(
    system: System, owner: str
) -> None:
    job_id = enqueue(system, owner)
    first = claim_one(system)
    assert system.store.release("w1", [(job_id, first.run_id)], max_releases=3) == 1
    second = claim_one(system)
    assert (first.attempt, second.attempt) == (1, 1)
    assert first.run_id != second.run_id
    # The released claim's writes are refused, though worker and attempt match.
    assert not system.store.complete(first, "w1", {"from": "released"})
    assert system.store.complete(second, "w1", {"from": "current"})


def test_leases_are_granted_on_the_database_clock(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    before = database_now_ms(system)
    claim_one(system)
    after = database_now_ms(system)
    expires = state_of(system, job_id)["lease_expires_at"]
    assert before + LEASE * 1000 <= expires <= after + LEASE * 1000


def test_expired_lease_is_claimed_again_and_old_worker_is_fenced(
    system: System, owner: str
) -> None:
    job_id = enqueue(system, owner)
    stale = claim_one(system, "w1")
    expire_lease(system, job_id)
    assert system.store.reap_expired_leases() == 1
    fresh = claim_one(system, "w2")
    assert (fresh.id, fresh.attempt) == (job_id, 2)
    assert not system.store.complete(stale, "w1", {"from": "stale"})
    assert system.store.complete(fresh, "w2", {"from": "fresh"})
    view = system.store.get(job_id, owner)
    assert view is not None
    assert view.result == {"from": "fresh"}


def test_lease_expiry_on_last_attempt_fails_the_job(system: System, owner: str) -> None:
    job_id = enqueue(system, owner, max_attempts=1)
    claim_one(system)
    expire_lease(system, job_id)
    assert system.store.reap_expired_leases() == 1
    view = system.store.get(job_id, owner)
    assert view is not None
    assert view.state is JobState.FAILED
    assert view.error is not None
    assert view.error.code == "ATTEMPTS_EXHAUSTED"
    assert "1 attempts" in view.error.message


def test_unexpired_leases_are_left_alone(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    claim_one(system)
    set_row(system, job_id, lease_expires_at=database_now_ms(system) + 1000)
    assert system.store.reap_expired_leases() == 0


@pytest.fixture
def real(settings: Settings) -> Iterator[System]:
    """A second node on the same database, whose process clock is right."""
    other = build_system(settings)
    yield other
    other.close()


def test_a_process_clock_a_minute_ahead_reaps_nothing_early(
    system: System, real: System, owner: str, clock: ManualClock
) -> None:
    """Leases are the database's business: a node whose own clock runs a minute
    ahead (or was stepped by NTP) neither reaps valid leases nor runs jobs early."""
    clock.advance(60)
    held = enqueue(real, owner)
    assert [job.id for job in real.store.claim("w-real", 1, LEASE)] == [held]
    assert system.store.reap_expired_leases() == 0
    assert state_of(system, held)["state"] == "running"
    retried = enqueue(real, owner)
    (job,) = real.store.claim("w-real", 1, LEASE)
    assert job.id == retried
    assert real.store.fail(job, "w-real", ErrorInfo("FLAKY", "again"), RetryIn(30_000))
    assert system.store.claim("w-ahead", 1, LEASE) == []


def test_a_job_enqueued_by_a_node_whose_clock_runs_ahead_is_not_delayed(
    system: System, real: System, owner: str, clock: ManualClock
) -> None:
    clock.advance(60)
    job_id = enqueue(system, owner)
    assert [job.id for job in real.store.claim("w-real", 1, LEASE)] == [job_id]


def test_release_returns_jobs_without_spending_an_attempt(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    assert system.store.release("w1", [(job_id, job.run_id)], max_releases=3) == 1
    row = state_of(system, job_id)
    assert (row["state"], row["attempts"], row["worker_id"], row["releases"]) == (
        "queued",
        0,
        None,
        1,
    )


def test_release_is_fenced_by_claim(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    assert system.store.release("w1", [(job_id, "other")], max_releases=3) == 0
    assert system.store.release("w2", [(job_id, job.run_id)], max_releases=3) == 0
    assert state_of(system, job_id)["state"] == "running"


def test_releases_past_the_limit_spend_attempts_until_the_job_fails(
    system: System, owner: str
) -> None:
    job_id = enqueue(system, owner, max_attempts=2)
    attempts = []
    for _ in range(3):
        job = claim_one(system)
        attempts.append(job.attempt)
        assert system.store.release("w1", [(job_id, job.run_id)], max_releases=1) == 1
    # The first release is free; the second spends attempt 1; the third, on
    # attempt 2 of 2, ends the job.
    assert attempts == [1, 1, 2]
    view = system.store.get(job_id, owner)
    assert view is not None
    assert view.state is JobState.FAILED
    assert view.error is not None
    assert view.error.code == "ATTEMPTS_EXHAUSTED"
    assert "worker shut down" in view.error.message
    with system.engine.connect() as connection:
        codes = connection.execute(handlers.failures.select()).all()
    assert [(row.job_id, row.code) for row in codes] == [(job_id, "ATTEMPTS_EXHAUSTED")]


def test_hold_tells_whether_the_attempt_still_owns_the_job(system: System, owner: str) -> None:
    job_id = enqueue(system, owner)
    job = claim_one(system)
    fence = Fence(job_id, "w1", job.attempt, job.run_id)
    with system.engine.begin() as connection:
        assert system.store.hold(connection, fence)
    expire_lease(system, job_id)
    system.store.reap_expired_leases()
    again = claim_one(system, "w1")
    with system.engine.begin() as connection:
        assert not system.store.hold(connection, fence)
        assert not system.store.hold(connection, Fence(job_id, "w1", 2, "another claim"))
        assert system.store.hold(connection, Fence(job_id, "w1", 2, again.run_id))


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


_PARTIAL_INDEXES = ("ix_jobs_queued_by_owner", "ix_jobs_leases")


def test_claiming_reads_indexes_not_the_table(system: System) -> None:
    """The claim statement's plan reads queued jobs through their partial index
    and scans no table whole, however many finished jobs it holds."""
    params = {"worker_id": "w1", "limit": 4, "window": 16, "lease_ms": 1000, "per_owner": 3}
    statement = system.store.claim_sql.text
    with system.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            plan = connection.execute(sa.text(f"EXPLAIN QUERY PLAN {statement}"), params).all()
            steps = [str(row[3]) for row in plan]
            # A SCAN walks a whole table or index; only the partial indexes,
            # which hold just the queued or the running jobs, may be walked.
            jobs_scans = [s for s in steps if s.split()[:2] in (["SCAN", "jobs"], ["SCAN", "j"])]
            whole_scans = [s for s in jobs_scans if not any(i in s for i in _PARTIAL_INDEXES)]
        else:
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = connection.execute(sa.text(f"EXPLAIN {statement}"), params).all()
            steps = [str(row[0]) for row in plan]
            whole_scans = [s for s in steps if "Seq Scan" in s]
    assert any("ix_jobs_queued_by_owner" in step for step in steps), steps
    assert whole_scans == [], steps


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("per_owner", [7, 2**31 - 1], ids=["capped", "no cap"])
def test_a_long_queue_is_claimed_through_indexes_with_the_planner_free(
    system: System, owner: str, per_owner: int
) -> None:
    """With thousands queued, some running, and the planner free to choose (seq scans
    allowed, statistics fresh), the claim joins its few candidates to `jobs` by
    primary key: no plan reads every queued job (a hash join of the candidates
    with all queued jobs once did)."""
    job = NewJob(new_id("job"), owner, ARTIFACT_CREATE, {})
    with system.engine.begin() as connection:
        system.store.enqueue(connection, job, max_attempts=3)
        # 4,999 more like it, written by the database at once.
        connection.execute(
            sa.text(
                "INSERT INTO jobs (id, owner_id, type, state, payload, attempts, max_attempts,"
                " run_at, created_at, updated_at, releases)"
                " SELECT id || '_' || n, owner_id, type, state, payload, attempts, max_attempts,"
                " run_at, created_at, updated_at, releases"
                " FROM jobs, generate_series(1, 4999) AS n WHERE id = :id"
            ),
            {"id": job.id},
        )
        connection.exec_driver_sql("ANALYZE jobs")
    assert len(system.store.claim("w1", 16, 30)) == 16  # some running, as in a busy queue
    params = {"worker_id": "w1", "limit": 8, "window": 32, "lease_ms": 1000, "per_owner": per_owner}
    with system.engine.connect() as connection:
        plan = connection.execute(sa.text(f"EXPLAIN {system.store.claim_sql.text}"), params).all()
    steps = [str(row[0]) for row in plan]
    assert not [step for step in steps if "Seq Scan" in step or "Hash Join" in step], steps
