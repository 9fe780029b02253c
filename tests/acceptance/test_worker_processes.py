"""Acceptance: real worker processes on one database, killed and stopped with signals.

Workers are `python -m tests.support.harness_worker` (the `nxdocs worker` code
path with the scripted handlers of `tests.support.handlers`), and in the last
tests the real `nxdocs worker` console script, started by the `children`
fixture (`tests.support.worker_processes`). Every test runs on SQLite and on
PostgreSQL. Each child's output goes to a file in `tmp_path`; a failed wait
shows the tail of every child's output, and no child may print a traceback.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from nxdocs.db.schema import jobs
from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, NewJob
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers
from tests.support.harness_worker import completed_by, create_tables
from tests.support.jobs import enqueue
from tests.support.worker_processes import (
    EXIT_DEADLINE,
    MAX_ATTEMPTS,
    NXDOCS_WORKER,
    WorkerProcesses,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[System]:
    """The test's own view of the database: migrated, with the scripted handlers' tables."""
    # One owner enqueues thousands of jobs here, past the default cap on active jobs.
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        max_attempts=MAX_ATTEMPTS,
        max_active_jobs_per_owner=0,
    )
    system = build_system(settings)
    create_tables(system)
    yield system
    system.close()


@pytest.fixture
def reads(database_url: str) -> Iterator[sa.Engine]:
    """A plain engine for the test's reads. The System's SQLite engine opens every
    transaction with BEGIN IMMEDIATE, reads too, and such a read can starve behind a
    worker that commits back to back; a plain read in WAL mode waits for no one."""
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def owner(db: System) -> str:
    return db.keys.create("acceptance").owner_id


def select_all(reads: sa.Engine, table: sa.Table) -> list[dict[str, Any]]:
    with reads.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(table))]


def job_row(reads: sa.Engine, job_id: str) -> dict[str, Any]:
    with reads.connect() as connection:
        return dict(connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()._mapping)


def count_terminal(reads: sa.Engine) -> int:
    with reads.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).where(jobs.c.state.in_(["succeeded", "failed"]))
            ).scalar_one()
        )


def enqueue_batches(
    system: System, owner_id: str, payloads: list[dict[str, Any]], batch: int = 100
) -> list[str]:
    """Enqueue through the store, `batch` jobs per transaction; returns the ids in order."""
    ids: list[str] = []
    for start in range(0, len(payloads), batch):
        with system.engine.begin() as connection:
            for payload in payloads[start : start + batch]:
                job = NewJob(new_id("job"), owner_id, ARTIFACT_CREATE, payload)
                system.store.enqueue(connection, job, max_attempts=MAX_ATTEMPTS)
                ids.append(job.id)
    return ids


def test_four_workers_run_every_job_exactly_once(
    db: System, reads: sa.Engine, owner: str, children: WorkerProcesses
) -> None:
    workers = children.start_ready(4)
    kinds = ["plain"] * 1900 + ["transient"] * 100 + ["doomed"] * 20
    random.Random(7).shuffle(kinds)
    script: dict[str, dict[str, Any]] = {
        "plain": {},
        "transient": {"fail_times": 1},
        "doomed": {"always_fail": True},
    }
    ids = enqueue_batches(db, owner, [{"n": n, **script[kind]} for n, kind in enumerate(kinds)])
    kind_of = dict(zip(ids, kinds, strict=True))

    children.wait_for(lambda: count_terminal(reads) == len(ids), "every job to finish", timeout=90)

    rows = {row["id"]: row for row in select_all(reads, jobs)}
    assert sorted(rows) == sorted(ids)
    succeeded = {job_id for job_id, kind in kind_of.items() if kind != "doomed"}
    doomed = set(ids) - succeeded
    assert len(succeeded) == 2000
    for job_id, row in rows.items():
        assert row["worker_id"] is None
        assert row["lease_expires_at"] is None
        if kind_of[job_id] == "doomed":
            assert (row["state"], row["attempts"]) == ("failed", MAX_ATTEMPTS), row
            assert row["error_code"] == "ATTEMPTS_EXHAUSTED"
            assert f"each of its {MAX_ATTEMPTS} attempts" in row["error_message"]
            assert "FLAKY" in row["error_message"]
        else:
            expected_attempts = 2 if kind_of[job_id] == "transient" else 1
            assert (row["state"], row["attempts"]) == ("succeeded", expected_attempts), row
            assert row["result"] == '{"artifact_id":"doc_test"}'

    # test_completions has the job id as its primary key: a double completion
    # would have failed that job's transaction, and shown up above.
    completions = {row["job_id"]: row["attempt"] for row in select_all(reads, handlers.completions)}
    assert set(completions) == succeeded
    assert all(completions[job_id] == rows[job_id]["attempts"] for job_id in succeeded)
    failures = select_all(reads, handlers.failures)
    assert {row["job_id"] for row in failures} == doomed
    assert {row["code"] for row in failures} == {"ATTEMPTS_EXHAUSTED"}

    pids = [row["pid"] for row in select_all(reads, completed_by)]
    assert len(pids) == 2000
    assert set(pids) <= {worker.pid for worker in workers}
    assert len(set(pids)) >= 2, f"one process ran every job: {set(pids)}"

    children.stop_all()
    children.assert_no_traceback()


def test_job_of_a_killed_worker_is_finished_by_another_after_its_lease(
    db: System, reads: sa.Engine, owner: str, children: WorkerProcesses
) -> None:
    children.start_ready(2, lease_seconds=1.0)
    job_id = enqueue(db, owner, {"block_attempts": 1})

    def claimed() -> str | None:
        row = job_row(reads, job_id)
        return row["worker_id"] if row["state"] == "running" else None

    holder = children.by_worker_id(children.wait_for(claimed, "the job to be claimed"))
    survivor = next(child for child in children.all if child is not holder)
    holder.process.kill()
    assert holder.process.wait(timeout=EXIT_DEADLINE) == -signal.SIGKILL

    children.wait_for(
        lambda: job_row(reads, job_id)["state"] == "succeeded", "the survivor to finish the job"
    )
    row = job_row(reads, job_id)
    assert (row["attempts"], row["worker_id"], row["lease_expires_at"]) == (2, None, None)
    assert [(r["job_id"], r["attempt"]) for r in select_all(reads, handlers.completions)] == [
        (job_id, 2)
    ]
    assert [(r["job_id"], r["pid"]) for r in select_all(reads, completed_by)] == [
        (job_id, survivor.pid)
    ]
    assert "recovered 1 job(s) whose lease expired" in survivor.text()

    children.stop_all()
    children.assert_no_traceback()


def test_sigterm_releases_a_job_that_outlasts_the_grace_period(
    db: System, reads: sa.Engine, owner: str, children: WorkerProcesses
) -> None:
    (worker,) = children.start_ready(shutdown_grace_seconds=0.5)
    job_id = enqueue(db, owner, {"block_attempts": 1})
    children.wait_for(lambda: job_row(reads, job_id)["state"] == "running", "the job to start")

    started = time.monotonic()
    assert children.signal_and_wait(worker, signal.SIGTERM) == 0, children.diagnostics()
    assert time.monotonic() - started < EXIT_DEADLINE

    row = job_row(reads, job_id)
    assert (row["state"], row["worker_id"], row["lease_expires_at"], row["attempts"]) == (
        "queued",
        None,
        None,
        0,
    ), children.diagnostics()
    assert select_all(reads, handlers.completions) == []
    assert "released 1 unfinished job(s)" in worker.text()
    children.assert_no_traceback()


STEPS = {"sqlite": 3000, "postgresql": 800}
"""Progress writes of the in-flight job, about a second's worth on each database here:
long enough to be seen mid-run, far below the grace period even on a loaded machine."""


def test_sigterm_lets_an_in_flight_job_finish_within_the_grace_period(
    db: System, reads: sa.Engine, owner: str, children: WorkerProcesses
) -> None:
    steps = STEPS[db.engine.dialect.name]
    (worker,) = children.start_ready(shutdown_grace_seconds=10.0)
    job_id = enqueue(db, owner, {"steps": steps})

    def in_flight() -> dict[str, Any] | None:
        row = job_row(reads, job_id)
        assert row["state"] in {"queued", "running"}, "finished before the signal: raise STEPS"
        return row if row["state"] == "running" and row["progress_done"] else None

    row = children.wait_for(in_flight, "the job to report progress")
    worker.process.send_signal(signal.SIGTERM)
    assert row["progress_done"] < steps

    assert children.wait_exit(worker) == 0, children.diagnostics()
    row = job_row(reads, job_id)
    assert (row["state"], row["attempts"], row["progress_done"], row["progress_total"]) == (
        "succeeded",
        1,
        steps,
        steps,
    ), children.diagnostics()
    assert [r["job_id"] for r in select_all(reads, handlers.completions)] == [job_id]
    assert "released" not in worker.text()
    children.assert_no_traceback()


def test_a_job_keeps_its_lease_during_the_grace_period(
    db: System, reads: sa.Engine, owner: str, children: WorkerProcesses
) -> None:
    children.start_ready(2, lease_seconds=1.0, shutdown_grace_seconds=4.0)
    job_id = enqueue(db, owner, {"block_attempts": 1})

    def claimed() -> str | None:
        row = job_row(reads, job_id)
        return row["worker_id"] if row["state"] == "running" else None

    holder_id = children.wait_for(claimed, "the job to be claimed")
    holder = children.by_worker_id(holder_id)
    holder.process.send_signal(signal.SIGTERM)
    attempts_seen: set[int] = set()

    def exited_while_sampling() -> bool:
        attempts_seen.add(job_row(reads, job_id)["attempts"])
        return holder.process.poll() is not None

    children.wait_for(exited_while_sampling, "the stopping worker to exit", EXIT_DEADLINE)
    assert holder.process.returncode == 0, children.diagnostics()
    # The job stays the stopping worker's until its release at the end of the grace
    # period, which gives the attempt back: the other worker may then hold it as
    # attempt 1 again (blocking on it), but never reaps it early and runs attempt 2.
    attempts_seen.add(job_row(reads, job_id)["attempts"])
    assert max(attempts_seen) == 1, attempts_seen
    row = job_row(reads, job_id)
    assert (row["state"], row["attempts"]) in {("queued", 0), ("running", 1)}, row
    children.stop_all()
    children.assert_no_traceback()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_nxdocs_worker_command_exits_cleanly_on_signal(
    children: WorkerProcesses, signum: int
) -> None:
    # No `db` fixture: the command migrates the empty database itself.
    worker = children.start(NXDOCS_WORKER)
    children.wait_started(worker)
    started = time.monotonic()
    assert children.signal_and_wait(worker, signum) == 0, children.diagnostics()
    assert time.monotonic() - started < EXIT_DEADLINE
    assert " stopped" in worker.text()
    children.assert_no_traceback()
