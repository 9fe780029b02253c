"""Acceptance: the real server and worker on URLs as hosting platforms hand them out.

`postgres://` and `postgresql://` name no driver; nxdocs runs them on psycopg 3.
Each test has a new database of its own, so the processes also migrate it
together on start; a job is created over HTTP and followed to its end.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.support.process import Served, child_env, nxdocs_serve
from tests.support.waiting import wait_until
from tests.support.worker_processes import NXDOCS_WORKER, WorkerProcesses

pytestmark = pytest.mark.slow


def as_platforms_write_it(url: str, scheme: str) -> str:
    assert url.startswith("postgresql://")
    return f"{scheme}://{url.removeprefix('postgresql://')}"


def first_key(served: Served) -> str:
    printed = re.search(r"nxd_[A-Za-z0-9]{40}", served.output())
    assert printed is not None, served.output()
    return printed.group(0)


def run_a_job(served: Served) -> None:
    """POST an artifact, then GET its job until it has completed."""
    headers = {"Authorization": f"Bearer {first_key(served)}"}
    with httpx.Client(base_url=served.base_url, headers=headers, timeout=30) as client:
        created = client.post("/v1/artifacts/async", json={"content": "# Title\n\n---\n\n## Hi"})
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]

        def finished() -> str | None:
            status = str(client.get(f"/v1/jobs/{job_id}").json()["status"])
            return status if status in ("completed", "failed", "canceled") else None

        try:
            ended = wait_until(finished, timeout=90, interval=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{served.output()}") from None
        assert ended == "completed", served.output()


def test_serve_on_postgres_and_a_worker_on_postgresql(fresh_database: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    workers = WorkerProcesses(
        tmp_path,
        as_platforms_write_it(fresh_database, "postgresql"),
        data_dir,
        command=NXDOCS_WORKER,
    )
    try:
        # Started together on the empty database: both migrate, one after the other.
        worker = workers.start()
        env = child_env(
            database_url=as_platforms_write_it(fresh_database, "postgres"), data_dir=str(data_dir)
        )
        with nxdocs_serve(tmp_path, env, "--no-worker") as served:
            workers.wait_started(worker)
            run_a_job(served)
            assert f"(database: 127.0.0.1:5432/{fresh_database.rsplit('/', 1)[1]})" in (
                served.output()
            )
        workers.stop_all()
        workers.assert_no_traceback()
        assert "Traceback" not in served.output()
    finally:
        workers.close()


def test_serves_own_worker_does_not_migrate(fresh_database: str, tmp_path: Path) -> None:
    env = child_env(database_url=fresh_database, data_dir=str(tmp_path / "data"))
    with nxdocs_serve(tmp_path, env) as served:
        children = wait_until(lambda: _children_of(served.process.pid), timeout=30)
        assert [command[-2:] for command in children] == [["worker", "--no-migrate"]]
        run_a_job(served)
    assert "Traceback" not in served.output()


def _children_of(pid: int) -> list[list[str]]:
    """The command lines of `pid`'s child processes (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append((stat.parent / "cmdline").read_text().split("\0")[:-1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while being read
    return found
