"""Acceptance: a worker stopped with SIGSTOP past its lease never writes over the
attempt that replaced it, on SQLite and PostgreSQL.

Real `nxdocs worker` processes render a PNG export slowly enough to be caught
mid-render. The one rendering it is stopped; the other reaps the expired lease
and finishes the job as attempt 2; then the stopped one is resumed. Its
writes must be refused (and logged), and the export's file must be attempt
2's. On SQLite the stop comes right after a progress write has committed, so
the stopped process holds no write lock (a process stopped inside a write
transaction would hold up every other process on the file).
"""

from __future__ import annotations

import signal
import sqlite3
from contextlib import closing
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from nxdocs.db.schema import exports, jobs
from tests.support.deployment import HTTP_TIMEOUT, Site, api_only, start_workers
from tests.support.waiting import wait_until
from tests.support.worker_processes import WorkerProcess, WorkerProcesses

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

STALL_LEASE_SECONDS = 1.5
PNG_DPI = 300
STALL_PAGES = 30
"""Pages of the PNG export: enough that the render is still going when we stop it."""


def job_row(reads: sa.Engine, job_id: str) -> dict[str, Any]:
    with reads.connect() as connection:
        return dict(connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()._mapping)


def export_row(reads: sa.Engine, export_id: str) -> dict[str, Any]:
    with reads.connect() as connection:
        query = sa.select(exports).where(exports.c.id == export_id)
        return dict(connection.execute(query).one()._mapping)


def slides(pages: int) -> str:
    body = "\n\n---\n\n".join(
        f"## Slide {n}\n\n- first point of {n}\n- second point\n\n| a | b |\n|---|---|\n| 1 | 2 |"
        for n in range(1, pages)
    )
    return f"# Stalled deck\n\n---\n\n{body}"


def stale_attempt_refused(worker: WorkerProcess, job_id: str) -> bool:
    """The stale attempt's last write was refused, and said so."""
    return any(
        " WARNING " in line and job_id in line and "refused" in line
        for line in worker.text().splitlines()
    )


def sqlite_write_lock_free(database_url: str) -> bool:
    """True if a write transaction can start on the SQLite file within a moment."""
    path = sa.engine.make_url(database_url).database
    assert path is not None
    with closing(sqlite3.connect(path, timeout=0.5, isolation_level=None)) as connection:
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        connection.execute("ROLLBACK")
        return True


def stop_outside_a_write(worker: WorkerProcess, database_url: str) -> None:
    """SIGSTOP the worker; on SQLite, only at a moment it holds no write lock."""
    for _ in range(20):
        worker.process.send_signal(signal.SIGSTOP)
        if not database_url.startswith("sqlite") or sqlite_write_lock_free(database_url):
            return
        worker.process.send_signal(signal.SIGCONT)
        wait_until(lambda: sqlite_write_lock_free(database_url), timeout=30)
    raise AssertionError("the worker held the SQLite write lock at every try")


def test_a_worker_stopped_past_its_lease_never_overwrites_the_newer_attempt(
    site: Site, children: WorkerProcesses, reads: sa.Engine
) -> None:
    with api_only(site) as deployment:
        deployment.workers = workers = start_workers(
            children, 2, lease_seconds=STALL_LEASE_SECONDS, png_dpi=PNG_DPI, worker_concurrency=1
        )
        with deployment.client() as client:
            made = client.post("/v1/artifacts", json={"content": slides(STALL_PAGES)})
            assert made.status_code == 201, made.text
            assert made.json()["status"] == "ready", made.text
            assert made.json()["page_count"] == STALL_PAGES
            started = client.post(
                "/v1/exports/async", json={"artifact_id": made.json()["id"], "format": "png"}
            )
            assert started.status_code == 202, started.text
        export_id, job_id = started.json()["id"], started.json()["job_id"]

        def rendering() -> str | None:
            row = job_row(reads, job_id)
            assert row["state"] in {"queued", "running"}, "finished too soon: raise STALL_PAGES"
            done = row["progress_done"] or 0
            return row["worker_id"] if row["state"] == "running" and done >= 1 else None

        stalled = children.by_worker_id(children.wait_for(rendering, "the render", timeout=60))
        stop_outside_a_write(stalled, site.database_url)
        try:
            progress_at_stop = job_row(reads, job_id)["progress_done"]
            assert progress_at_stop < STALL_PAGES, "finished too soon: raise STALL_PAGES"

            def redone() -> bool:
                row = job_row(reads, job_id)
                assert row["state"] != "failed", (row, children.diagnostics())
                return row["state"] == "succeeded"

            children.wait_for(redone, "the other worker to finish the job", timeout=90)
        finally:
            stalled.process.send_signal(signal.SIGCONT)
        children.wait_for(
            lambda: stale_attempt_refused(stalled, job_id),
            "the resumed worker to give up its stale attempt",
            timeout=60,
        )

        row = job_row(reads, job_id)
        assert (row["state"], row["attempts"], row["worker_id"]) == ("succeeded", 2, None), row
        assert row["progress_done"] == row["progress_total"], row
        file = export_row(reads, export_id)
        assert file["status"] == "completed", file
        key_parts = (file["file_key"] or "").split("/")
        assert key_parts[:2] == ["exports", export_id], file["file_key"]
        assert len(key_parts) == 4, file["file_key"]
        assert key_parts[2].startswith("2-"), f"not the second attempt's file: {file['file_key']}"
        stored = site.data_dir / "files" / file["file_key"]
        assert stored.is_file(), f"{stored} is missing"
        with deployment.client() as client:
            shown = client.get(f"/v1/exports/{export_id}")
            assert shown.status_code == 200, shown.text
            assert shown.json()["status"] == "completed", shown.text
            download = httpx.get(shown.json()["download_url"], timeout=HTTP_TIMEOUT)
        assert download.status_code == 200, download.text[:300]
        assert download.content == stored.read_bytes()
        assert [w.process.poll() for w in workers] == [None, None], children.diagnostics()
        deployment.assert_no_traceback()
