"""Claims are fair between owners, and one owner's queue is bounded, on both databases.

Round-robin: every owner's next job before anyone's one after it, owners with
fewer jobs running first. A worker never runs more than its per-owner cap of
one owner's jobs, so the slot it keeps free goes to whoever else is waiting.
An owner's queued and running jobs are capped at enqueue.
"""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from nxdocs.jobs.store import TooManyActiveJobsError
from nxdocs.system import System
from tests.support.jobs import enqueue, set_row

LEASE = 30.0


def owners(system: System, count: int) -> list[str]:
    return [system.keys.create("test", new_owner=True).owner_id for _ in range(count)]


_ENQUEUED = itertools.count(1)


def enqueue_many(system: System, owner: str, count: int) -> list[str]:
    """Jobs due in the order they are made here, across owners (the clock's
    milliseconds could tie; ties go by id, which is random)."""
    made = [enqueue(system, owner, {"n": n}) for n in range(count)]
    for job_id in made:
        set_row(system, job_id, run_at=next(_ENQUEUED))
    return made


def claimed_ids(system: System, worker: str, limit: int, per_owner: int | None = None) -> list[str]:
    return [job.id for job in system.store.claim(worker, limit, LEASE, per_owner=per_owner)]


def test_a_claim_takes_one_job_of_each_waiting_owner_before_a_second(system: System) -> None:
    alice, bob, carol = owners(system, 3)
    alices = enqueue_many(system, alice, 6)  # the oldest jobs, a backlog
    bobs = enqueue_many(system, bob, 1)
    carols = enqueue_many(system, carol, 2)

    first = claimed_ids(system, "w1", 3)
    assert set(first) == {alices[0], bobs[0], carols[0]}
    second = claimed_ids(system, "w1", 3)
    assert set(second) == {alices[1], carols[1], alices[2]}


def test_owners_with_fewer_jobs_running_anywhere_come_first(system: System) -> None:
    alice, bob = owners(system, 2)
    alices = enqueue_many(system, alice, 4)
    bobs = enqueue_many(system, bob, 3)
    assert set(claimed_ids(system, "elsewhere", 2)) == {alices[0], bobs[0]}
    assert claimed_ids(system, "elsewhere", 1) == [alices[1]]  # older, at equal shares

    # Alice has two running, Bob one: Bob's next goes first, then one each.
    assert claimed_ids(system, "w1", 1) == [bobs[1]]
    assert set(claimed_ids(system, "w1", 2)) == {alices[2], bobs[2]}


def test_a_worker_keeps_to_its_cap_of_one_owners_jobs(system: System) -> None:
    alice, bob = owners(system, 2)
    alices = enqueue_many(system, alice, 10)

    assert claimed_ids(system, "w1", 4, per_owner=3) == alices[:3]
    assert claimed_ids(system, "w1", 1, per_owner=3) == [], "the fourth slot stays free"
    assert claimed_ids(system, "w2", 4, per_owner=3) == alices[3:6], "the cap is per worker"

    bobs = enqueue_many(system, bob, 2)
    assert set(claimed_ids(system, "w1", 4, per_owner=3)) == set(bobs), "none of Alice's"
    assert claimed_ids(system, "w1", 2, per_owner=None) == alices[6:8]


def test_a_finished_job_frees_its_owners_share_of_the_cap(system: System) -> None:
    [alice] = owners(system, 1)
    alices = enqueue_many(system, alice, 3)
    [job] = system.store.claim("w1", 1, LEASE, per_owner=1)
    assert claimed_ids(system, "w1", 1, per_owner=1) == []
    assert system.store.complete(job, "w1", {"artifact_id": "doc_x"})
    assert claimed_ids(system, "w1", 1, per_owner=1) == [alices[1]]


def test_jobs_not_yet_due_are_not_claimed_and_do_not_block_others(system: System) -> None:
    alice, bob = owners(system, 2)
    [later] = enqueue_many(system, alice, 1)
    set_row(system, later, run_at=2**62)
    bobs = enqueue_many(system, bob, 1)
    assert claimed_ids(system, "w1", 4, per_owner=1) == bobs


def test_an_owner_past_the_active_job_cap_is_refused_at_enqueue(system: System) -> None:
    alice, bob = owners(system, 2)
    system.store.max_active_per_owner = 3
    enqueue_many(system, alice, 3)
    with pytest.raises(TooManyActiveJobsError) as refused:
        enqueue(system, alice)
    assert refused.value.limit == 3
    assert _jobs_of(system, alice) == 3, "the refused job was not written"
    enqueue(system, bob)  # another owner is not held back

    [job] = system.store.claim("w1", 1, LEASE)  # running jobs still count
    with pytest.raises(TooManyActiveJobsError):
        enqueue(system, alice)
    assert system.store.complete(job, "w1", {"artifact_id": "doc_x"})
    enqueue(system, alice)  # a finished job frees its place


def _jobs_of(system: System, owner: str) -> int:
    with system.engine.connect() as connection:
        query = sa.text("SELECT count(*) FROM jobs WHERE owner_id = :owner")
        return int(connection.execute(query, {"owner": owner}).scalar_one())


def test_a_claim_passes_over_rows_another_claimer_holds_and_fills_its_batch(
    system: System,
) -> None:
    """PostgreSQL: rows locked by a claim in flight are skipped before the limit
    counts, so claimers woken together take disjoint batches, not one all and
    the others nothing. (SQLite claims one at a time.)"""
    if system.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: no claim runs beside another")
    [alice] = owners(system, 1)
    alices = enqueue_many(system, alice, 6)
    with system.engine.connect() as other:
        other.begin()
        held = sa.text("SELECT id FROM jobs WHERE id IN :ids FOR UPDATE")
        other.execute(held.bindparams(sa.bindparam("ids", expanding=True)), {"ids": alices[:2]})
        assert claimed_ids(system, "w1", 2) == alices[2:4]
        other.rollback()
