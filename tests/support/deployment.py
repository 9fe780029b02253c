"""The processes of one acceptance test as a deployment: an API, its workers, and their logs.

`Deployment` knows each process's output file, so a failed wait can show the
tail of every log, and a test can check that no process printed a traceback.
The job helpers read the jobs table directly and tolerate a database that does
not answer for a while (a restart is what the tests using them inject).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from nxdocs.db.schema import jobs
from tests.support.process import Served, child_env, nxdocs, nxdocs_serve
from tests.support.waiting import wait_until
from tests.support.worker_processes import (
    BASE_SETTINGS,
    NXDOCS_WORKER,
    WorkerProcess,
    WorkerProcesses,
)

HTTP_TIMEOUT = 30.0

SETTINGS: dict[str, float | int | str] = {
    **BASE_SETTINGS,
    "lease_seconds": 3.0,
    "backoff_base_seconds": 0.05,
    "backoff_max_seconds": 0.5,
    "max_attempts": 5,
    "shutdown_grace_seconds": 3.0,
    # The test posts hundreds of jobs and polls all the while: no 429s.
    "rate_limit_per_second": 100_000,
    "rate_limit_burst": 100_000,
}


def settings_env(database_url: str, data_dir: Path, **extra: float | int | str) -> dict[str, str]:
    given = {**SETTINGS, "database_url": database_url, "data_dir": str(data_dir), **extra}
    return child_env(**{name: str(value) for name, value in given.items()})


def create_key(database_url: str, data_dir: Path) -> str:
    """`nxdocs keys create` (which also migrates the empty schema); the secret."""
    created = nxdocs("keys", "create", "--name", "t", env=settings_env(database_url, data_dir))
    assert created.returncode == 0, created.stdout + created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"nxd_[A-Za-z0-9]{40}", key), created.stdout
    return key


@dataclass(frozen=True)
class Site:
    """The test's schema, data directory and key: what every process it starts shares."""

    database_url: str
    data_dir: Path
    tmp_path: Path
    key: str

    def env(self) -> dict[str, str]:
        return settings_env(self.database_url, self.data_dir)


def start_workers(
    children: WorkerProcesses, count: int, **extra: float | int | str
) -> list[WorkerProcess]:
    workers = [children.start(NXDOCS_WORKER, **{**SETTINGS, **extra}) for _ in range(count)]
    children.wait_started(*workers)
    return workers


@dataclass
class Deployment:
    """One `nxdocs serve` and any `nxdocs worker` processes on one database."""

    served: Served
    workers: list[WorkerProcess]
    key: str

    def processes(self) -> list[tuple[str, subprocess.Popen[Any], Path]]:
        serve = ("serve", self.served.process, self.served.log)
        return [serve, *((w.name, w.process, w.output) for w in self.workers)]

    def exited(self) -> list[str]:
        return [
            f"{name} (exit {process.returncode})"
            for name, process, _ in self.processes()
            if process.poll() is not None
        ]

    def diagnostics(self, lines: int = 40) -> str:
        parts = []
        for name, process, log in self.processes():
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
            parts.append(f"--- {name} (pid {process.pid}, exit {process.poll()}) ---\n{tail}")
        return "\n".join(parts)

    def assert_no_traceback(self) -> None:
        for name, _, log in self.processes():
            text = log.read_text(errors="replace")
            assert "Traceback" not in text, f"{name} printed a traceback:\n{text[-6000:]}"

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.served.base_url,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=HTTP_TIMEOUT,
        )


@contextmanager
def killed_on_failure(served: Served) -> Iterator[None]:
    """Kill `nxdocs serve` at once if the block fails, instead of waiting out its shutdown.

    A server left broken by a fault can take tens of seconds to stop (seen with an
    embedded worker that had died), and how it stops is not what these tests check.
    """
    try:
        yield
    except BaseException:
        served.process.kill()
        raise


@contextmanager
def api_only(site: Site) -> Iterator[Deployment]:
    """`nxdocs serve --no-worker` on the site, killed at once if the block fails; no workers
    yet (add them to `workers`)."""
    with (
        nxdocs_serve(site.tmp_path, site.env(), "--no-worker") as served,
        killed_on_failure(served),
    ):
        yield Deployment(served, [], site.key)


def count_states(reads: sa.Engine, job_ids: list[str]) -> dict[str, int] | None:
    """Jobs per internal state; None while the database does not answer."""
    try:
        with reads.connect() as connection:
            rows = connection.execute(
                sa.select(jobs.c.state, sa.func.count())
                .where(jobs.c.id.in_(job_ids))
                .group_by(jobs.c.state)
            ).all()
    except sa.exc.DBAPIError:
        return None
    return {state: count for state, count in rows}


def failed_jobs(reads: sa.Engine, job_ids: list[str]) -> list[tuple[str, str, str]]:
    with reads.connect() as connection:
        rows = connection.execute(
            sa.select(jobs.c.id, jobs.c.error_code, jobs.c.error_message).where(
                jobs.c.id.in_(job_ids), jobs.c.state == "failed"
            )
        ).all()
    return [(row.id, row.error_code, row.error_message) for row in rows]


def wait_all_succeeded(
    deployment: Deployment, reads: sa.Engine, job_ids: list[str], timeout: float, what: str
) -> None:
    """Until every job has succeeded; fails at once if a process exits or a job fails."""
    seen: dict[str, int] | None = None

    def done() -> bool:
        nonlocal seen
        dead = deployment.exited()
        if dead:
            raise AssertionError(
                f"{', '.join(dead)} exited while waiting for {what} "
                f"(jobs by state, when last read: {seen})\n" + deployment.diagnostics()
            )
        states = count_states(reads, job_ids)
        if states is None:
            return False
        seen = states
        if states.get("failed"):
            raise AssertionError(
                f"jobs failed while waiting for {what}: {failed_jobs(reads, job_ids)[:5]}\n"
                + deployment.diagnostics()
            )
        return states.get("succeeded", 0) == len(job_ids)

    try:
        wait_until(done, timeout=timeout, interval=0.2)
    except AssertionError as exc:
        if "condition not met" not in str(exc):
            raise
        raise AssertionError(
            f"{what}: not done within {timeout}s; jobs by state: {seen}\n"
            + deployment.diagnostics()
        ) from None
