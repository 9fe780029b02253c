"""Acceptance: real worker processes on one database, killed and stopped with signals.

Workers are `python -m tests.support.harness_worker` (the `nxdocs worker` code
path with the scripted handlers of `tests.support.handlers`), and in the last
tests the real `nxdocs worker` console script. Every test runs on SQLite and
on PostgreSQL. Each child's output goes to a file in `tmp_path`; a failed wait
shows the tail of every child's output, and no child may print a traceback.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

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
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
HARNESS = (sys.executable, "-m", "tests.support.harness_worker")
NXDOCS_WORKER = (str(Path(sys.executable).parent / "nxdocs"), "worker")
MAX_ATTEMPTS = 3
EXIT_DEADLINE = 20.0
"""Seconds a signalled worker gets to exit: its grace period plus a loaded machine's slack."""

BASE_SETTINGS: dict[str, float | int | str] = {
    "lease_seconds": 30.0,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
    "poll_interval_seconds": 0.2,
    "worker_concurrency": 4,
    "max_attempts": MAX_ATTEMPTS,
    "shutdown_grace_seconds": 5.0,
    "log_level": "info",
}


class Child:
    """One worker process; its stdout and stderr go to one file."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], output: Path) -> None:
        self.name = name
        self.process = process
        self.output = output

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def started(self) -> bool:
        return " started, concurrency " in self.text()


class Children:
    """The worker processes one test starts; whatever is still alive is killed at teardown."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.all: list[Child] = []

    def start(self, command: tuple[str, ...] = HARNESS, /, **settings: float | int | str) -> Child:
        name = f"worker{len(self.all)}"
        output = self.tmp_path / f"{name}.log"
        with output.open("wb") as sink:
            process = subprocess.Popen(
                list(command),
                cwd=ROOT,
                env=self._env(settings),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        child = Child(name, process, output)
        self.all.append(child)
        return child

    def _env(self, overrides: dict[str, float | int | str]) -> dict[str, str]:
        # The suite's autouse fixture has already removed NXDOCS_* from os.environ.
        env = {k: v for k, v in os.environ.items() if not k.startswith("NXDOCS_")}
        given = {
            **BASE_SETTINGS,
            "database_url": self.database_url,
            "data_dir": str(self.tmp_path / "data"),
            **overrides,
        }
        env.update({f"NXDOCS_{name.upper()}": str(value) for name, value in given.items()})
        return env

    def start_ready(self, count: int = 1, **settings: float | int | str) -> list[Child]:
        """Start `count` harness workers and wait until each is claiming."""
        started = [self.start(**settings) for _ in range(count)]
        self.wait_started(*started)
        return started

    def wait_started(self, *children: Child) -> None:
        def ready() -> bool:
            for child in children:
                if child.process.poll() is not None:
                    raise AssertionError(f"{child.name} exited early\n{self.diagnostics()}")
            return all(child.started() for child in children)

        self.wait_for(ready, "workers to start", timeout=60)

    def by_worker_id(self, worker_id: str) -> Child:
        """The child whose pid is in `worker_id` (`host:pid:random`)."""
        pid = int(worker_id.rsplit(":", 2)[1])
        return next(child for child in self.all if child.pid == pid)

    def wait_for(self, condition: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
        """`wait_until`, failing with every child's output."""
        try:
            value = wait_until(condition, timeout=timeout, interval=0.05)
        except AssertionError as exc:
            raise AssertionError(f"waiting for {what}: {exc}\n{self.diagnostics()}") from None
        assert value is not None
        return value

    def signal_and_wait(self, child: Child, signum: int, timeout: float = EXIT_DEADLINE) -> int:
        """Send `signum`; the exit code, which must come within `timeout` seconds."""
        child.process.send_signal(signum)
        return self.wait_exit(child, timeout)

    def wait_exit(self, child: Child, timeout: float = EXIT_DEADLINE) -> int:
        try:
            return child.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{child.name} did not exit within {timeout}s\n{self.diagnostics()}"
            ) from None

    def stop_all(self) -> None:
        """SIGTERM every live child (once: a second one may hit interpreter exit); each exits 0."""
        alive = [child for child in self.all if child.process.poll() is None]
        for child in alive:
            child.process.send_signal(signal.SIGTERM)
        for child in alive:
            code = self.wait_exit(child)
            assert code == 0, f"{child.name} exited {code}\n{self.diagnostics()}"

    def assert_no_traceback(self) -> None:
        for child in self.all:
            assert "Traceback" not in child.text(), f"{child.name}:\n{child.tail(60)}"

    def diagnostics(self) -> str:
        parts = []
        for child in self.all:
            code = child.process.poll()
            parts.append(f"--- {child.name} (pid {child.pid}, exit {code}) ---\n{child.tail()}")
        return "\n".join(parts)

    def kill_leftovers(self) -> None:
        for child in self.all:
            if child.process.poll() is None:
                child.process.kill()
            child.process.wait(timeout=30)


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[System]:
    """The test's own view of the database: migrated, with the scripted handlers' tables."""
    system = build_system(
        Settings(database_url=database_url, data_dir=tmp_path / "data", max_attempts=MAX_ATTEMPTS)
    )
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
    db: System, reads: sa.Engine, owner: str, children: Children
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
    db: System, reads: sa.Engine, owner: str, children: Children
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
    db: System, reads: sa.Engine, owner: str, children: Children
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
    db: System, reads: sa.Engine, owner: str, children: Children
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
    db: System, reads: sa.Engine, owner: str, children: Children
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
def test_nxdocs_worker_command_exits_cleanly_on_signal(children: Children, signum: int) -> None:
    # No `db` fixture: the command migrates the empty database itself.
    worker = children.start(NXDOCS_WORKER)
    children.wait_started(worker)
    started = time.monotonic()
    assert children.signal_and_wait(worker, signum) == 0, children.diagnostics()
    assert time.monotonic() - started < EXIT_DEADLINE
    assert " stopped" in worker.text()
    children.assert_no_traceback()
