"""Retention of finished jobs, and the one worker that runs maintenance, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from nxdocs.db.schema import idempotency_keys, jobs
from nxdocs.jobs.control import JobControl
from nxdocs.jobs.leader import MAINTENANCE, Leadership
from nxdocs.jobs.model import ErrorInfo
from nxdocs.jobs.retry import GiveUp
from nxdocs.jobs.worker import PeriodicTask, Worker
from nxdocs.system import System
from tests.support.api import MakeApi
from tests.support.clock import ManualClock
from tests.support.jobs import enqueue, set_row, state_of
from tests.support.waiting import wait_until

DAY_MS = 86_400_000
LEASE = 30.0


@pytest.fixture
def owner(system: System) -> str:
    return system.keys.create("test").owner_id


def finished_job(system: System, owner: str, *, failed: bool = False) -> str:
    job_id = enqueue(system, owner)
    (job,) = system.store.claim("w1", 1, LEASE)
    assert job.id == job_id
    if failed:
        assert system.store.fail(job, "w1", ErrorInfo("NOPE", "no"), GiveUp())
    else:
        assert system.store.complete(job, "w1", {"ok": True})
    return job_id


def exists(system: System, job_id: str) -> bool:
    with system.engine.connect() as connection:
        found = connection.execute(sa.select(jobs.c.id).where(jobs.c.id == job_id)).first()
    return found is not None


def remember_key(system: System, owner: str, key: str, job_id: str) -> None:
    now = system.clock.now_ms()
    with system.engine.begin() as connection:
        connection.execute(
            idempotency_keys.insert().values(
                owner_id=owner,
                key=key,
                fingerprint="0" * 64,
                job_id=job_id,
                created_at=now,
                expires_at=now + DAY_MS,
            )
        )


def keys_of(system: System) -> set[str]:
    with system.engine.connect() as connection:
        return set(connection.execute(sa.select(idempotency_keys.c.key)).scalars())


def test_finished_jobs_past_retention_go_with_their_keys(
    system: System, owner: str, clock: ManualClock
) -> None:
    old_done = finished_job(system, owner)
    old_failed = finished_job(system, owner, failed=True)
    remember_key(system, owner, "old", old_done)
    clock.advance(10 * 86_400)
    recent = finished_job(system, owner)
    remember_key(system, owner, "recent", recent)
    running = enqueue(system, owner)
    assert [job.id for job in system.store.claim("w2", 1, LEASE)] == [running]
    queued = enqueue(system, owner)
    for active in (running, queued):  # as old as can be, but not finished
        set_row(system, active, updated_at=0, created_at=0)

    control, cutoff = JobControl(system.store), clock.now_ms() - 5 * DAY_MS
    # A round is bounded: what it leaves, the next round takes.
    assert control.delete_finished(cutoff, batch=1, max_batches=1) == 1
    assert control.delete_finished(cutoff, batch=1) == 1
    assert control.delete_finished(cutoff, batch=1) == 0
    assert not exists(system, old_done)
    assert not exists(system, old_failed)
    assert state_of(system, queued)["state"] == "queued"
    assert state_of(system, running)["state"] == "running"
    assert exists(system, recent)
    assert keys_of(system) == {"recent"}
    assert system.store.get(old_done, owner) is None


def test_a_deleted_job_answers_404_even_once_cached(make_api: MakeApi, clock: ManualClock) -> None:
    served = make_api(clock=clock, job_retention_seconds=86_400, purge_interval_seconds=60)
    alice = served.caller("alice")
    created = alice.create({"type": "presentation", "content": "# One\n\nA page."})
    done = alice.finished_job(created["job_id"])
    assert alice.job(created["job_id"]) == done  # now in the poll route's cache
    clock.advance(2 * 86_400)

    def gone() -> bool:
        return alice.get(f"/v1/jobs/{created['job_id']}").status_code == 404

    wait_until(gone)
    assert alice.artifact(created["id"])["status"] == "ready"  # the artifact stays


def leadership(system: System, holder: str, lease: float = LEASE) -> Leadership:
    return Leadership(
        system.engine, system.store.now_sql, holder, lease_seconds=lease, role=MAINTENANCE
    )


def expire_leadership(system: System) -> None:
    with system.engine.begin() as connection:
        connection.execute(sa.text("UPDATE leaders SET expires_at = 1"))


def test_one_holder_at_a_time_and_a_silent_one_is_replaced(system: System) -> None:
    first, second = leadership(system, "a"), leadership(system, "b")
    assert first.hold()
    assert not second.hold()
    assert first.hold()  # renewing
    assert first.holder_now() == "a"
    expire_leadership(system)  # "a" stopped renewing a lease ago
    assert first.holder_now() is None
    assert second.hold()
    assert not first.hold()
    second.resign()
    assert first.hold()


def test_concurrent_takeovers_elect_one(system: System) -> None:
    contenders = [leadership(system, f"w{n}") for n in range(8)]
    barrier = threading.Barrier(len(contenders))
    won: list[str] = []

    def contend(contender: Leadership) -> None:
        barrier.wait()
        if contender.hold():
            won.append(contender.holder)

    threads = [threading.Thread(target=contend, args=(c,)) for c in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def counting_task(runs: list[str], name: str) -> Callable[[], int]:
    def run() -> int:
        runs.append(name)
        return 0

    return run


def test_only_the_leading_worker_runs_maintenance(system: System) -> None:
    runs: list[str] = []
    workers = []
    for name in ("a", "b"):
        task = PeriodicTask("count", 0.05, counting_task(runs, name), "ran {count}")
        workers.append(
            Worker(
                system.store,
                system.registry,
                system.worker_config(),
                worker_id=name,
                periodic=[task],
                leadership=lambda worker_id: leadership(system, worker_id),
            )
        )
    stops = [threading.Event() for _ in workers]
    threads = [
        threading.Thread(target=worker.run, args=(stop,))
        for worker, stop in zip(workers, stops, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(runs) >= 10)
        leader = runs[0]
        assert set(runs) == {leader}
        # The leader stops (and hands the role back): the other one takes over.
        index = ["a", "b"].index(leader)
        stops[index].set()
        workers[index].stop_waiting()
        threads[index].join(timeout=30)
        follower = "b" if leader == "a" else "a"
        wait_until(lambda: runs[-1] == follower)
    finally:
        for worker, stop in zip(workers, stops, strict=True):
            stop.set()
            worker.stop_waiting()
        for thread in threads:
            thread.join(timeout=30)
