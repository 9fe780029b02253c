"""Exports run side by side, and an export whose worker process is killed mid-render.

The second test starts the real `nxdocs worker` command twice against the
test's database and data directory, kills the one rendering with SIGKILL,
and lets the other finish the job once the lease has expired. Both tests run
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from nxdocs.db.schema import exports
from nxdocs.settings import Settings
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.export_samples import PRESENTATION, expected_pixels
from tests.support.exports import assert_hosted_export
from tests.support.file_readers import pdf_pages, png_pages
from tests.support.worker_processes import WorkerProcesses, nxdocs_workers

KILL_TEST_DPI = 200
"""High enough that rasterising the deck's pages takes seconds: the kill lands mid-render."""
KILL_TEST_SLIDES = 30
KILL_TEST_WORKER: dict[str, float | int | str] = {
    "lease_seconds": 2,
    "worker_concurrency": 1,
    "max_attempts": 5,
    "png_dpi": KILL_TEST_DPI,
}
"""The worker processes' settings: a short lease, so the survivor reaps the killed one's job."""


def test_two_exports_of_one_artifact_in_parallel_both_complete(
    api: ServedApi, alice: Caller, anonymous: httpx.Client
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)

    with ThreadPoolExecutor(2) as pool:
        finished = list(pool.map(lambda _: alice.export(artifact["id"], "pdf"), range(2)))

    first, second = finished
    assert first["id"] != second["id"]
    assert first["job_id"] != second["job_id"]
    for export in finished:
        assert_hosted_export(export, "completed", base_url=api.base_url)
        (stored,) = api.export_files(export["id"])
        data = anonymous.get(export["download_url"]).content
        assert stored.read_bytes() == data
        assert len(pdf_pages(data)) == 10
    assert api.count(exports) == 2


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcesses]:
    """`nxdocs worker` processes on the test's database, each rendering one export at a time."""
    with nxdocs_workers(settings, tmp_path, **KILL_TEST_WORKER) as started:
        yield started


@pytest.mark.slow
def test_an_export_killed_mid_render_is_finished_once_by_another_worker(
    make_api: MakeApi, workers: WorkerProcesses
) -> None:
    api = make_api(embedded_worker=False)  # only the worker processes run jobs
    pair = workers.start_ready(2)
    alice = api.caller("alice")
    deck = alice.ready_artifact(
        {"prompt": "Launch plan: goals, market and risks", "page_count": KILL_TEST_SLIDES}
    )
    created = alice.export_async(deck["id"], "png")
    job_id = created["job_id"]

    def mid_render() -> dict[str, Any] | None:
        row = api.job_row(job_id)
        assert row["state"] in ("queued", "running"), "finished before the kill: raise the DPI"
        done = row["progress_done"] or 0
        return row if row["state"] == "running" and 0 < done < KILL_TEST_SLIDES else None

    row = workers.wait_for(mid_render, "the render", timeout=60, interval=0.02)
    holder = workers.by_worker_id(row["worker_id"])
    survivor = next(worker for worker in pair if worker is not holder)
    holder.process.kill()
    assert holder.process.wait(timeout=30) == -signal.SIGKILL
    assert api.job_row(job_id)["state"] == "running"  # still held by the dead worker's lease

    job = alice.finished_job(job_id, timeout=90)

    assert job["status"] == "completed", (job, workers.diagnostics())
    assert job["result"] == {"export_id": created["id"]}
    assert job["progress"] == {"done": KILL_TEST_SLIDES, "total": KILL_TEST_SLIDES}
    final = api.job_row(job_id)
    assert final["attempts"] >= 2
    assert final["worker_id"] is None
    assert "recovered 1 job(s) whose lease expired" in survivor.text()
    # Exactly one export row and exactly one file, whatever the killed attempt left behind.
    assert api.count(exports) == 1
    export = alice.ok(f"/v1/exports/{created['id']}")
    assert_hosted_export(export, "completed", base_url=api.base_url)
    assert export["pages_exported"] == KILL_TEST_SLIDES
    (stored,) = api.export_files(created["id"])
    assert stored.name == export["file_name"]
    assert list(api.files.rglob("*.png")) == []
    sizes = png_pages(httpx.get(export["download_url"], timeout=60).content)
    assert len(sizes) == KILL_TEST_SLIDES
    expected = expected_pixels("presentation", KILL_TEST_DPI)
    assert all(size == pytest.approx(expected, abs=1) for size in sizes.values())

    survivor.process.send_signal(signal.SIGTERM)
    assert survivor.process.wait(timeout=30) == 0, workers.diagnostics()
    assert "Traceback" not in survivor.text()
