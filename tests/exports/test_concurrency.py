"""Exports run side by side, and an export whose worker process is killed mid-render.

The second test starts the real `nxdocs worker` command twice against the
test's database and data directory, kills the one rendering with SIGKILL,
and lets the other finish the job once the lease has expired. Both tests run
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from nxdocs.db.schema import exports
from tests.support.exports import (
    PRESENTATION,
    Caller,
    ExportApi,
    MakeApi,
    assert_hosted_export,
    expected_pixels,
    pdf_pages,
    png_pages,
)
from tests.support.waiting import wait_until

NXDOCS = str(Path(sys.executable).parent / "nxdocs")
KILL_TEST_DPI = 200
"""High enough that rasterising the deck's pages takes seconds: the kill lands mid-render."""
KILL_TEST_SLIDES = 30


def test_two_exports_of_one_artifact_in_parallel_both_complete(
    api: ExportApi, alice: Caller, anonymous: httpx.Client
) -> None:
    artifact = alice.artifact(PRESENTATION)

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


class Workers:
    """`nxdocs worker` processes; each one's output goes to a file. Leftovers are killed."""

    def __init__(self, tmp_path: Path, settings: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.settings = settings
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"worker{len(self.processes)}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NXDOCS_")}
        env.update({f"NXDOCS_{name.upper()}": value for name, value in self.settings.items()})
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [NXDOCS, "worker"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        self.processes.append((process, log))
        return process

    def log(self, process: subprocess.Popen[bytes]) -> str:
        path = next(log for started, log in self.processes if started is process)
        return path.read_text(errors="replace")

    def by_worker_id(self, worker_id: str) -> subprocess.Popen[bytes]:
        """The process whose pid is in `worker_id` (`host:pid:random`)."""
        pid = int(worker_id.rsplit(":", 2)[1])
        return next(process for process, _ in self.processes if process.pid == pid)

    def diagnostics(self) -> str:
        parts = []
        for process, log in self.processes:
            tail = log.read_text(errors="replace")[-3000:]
            parts.append(f"--- pid {process.pid} (exit {process.poll()}) ---\n{tail}")
        return "\n".join(parts)

    def kill_leftovers(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture
def workers_for(tmp_path: Path) -> Iterator[list[Workers]]:
    started: list[Workers] = []
    yield started
    for workers in started:
        workers.kill_leftovers()


@pytest.mark.slow
def test_an_export_killed_mid_render_is_finished_once_by_another_worker(
    make_api: MakeApi, workers_for: list[Workers], tmp_path: Path
) -> None:
    api = make_api(embedded_worker=False)  # only the worker processes run jobs
    settings = api.system.settings
    workers = Workers(
        tmp_path,
        {
            "database_url": settings.resolved_database_url(),
            "data_dir": str(settings.data_dir),
            "lease_seconds": "2",
            "worker_concurrency": "1",
            "poll_interval_seconds": "0.2",
            "backoff_base_seconds": "0.01",
            "backoff_max_seconds": "0.05",
            "max_attempts": "5",
            "png_dpi": str(KILL_TEST_DPI),
            "log_level": "info",
        },
    )
    workers_for.append(workers)
    pair = [workers.start(), workers.start()]
    try:
        wait_until(lambda: all(" started, concurrency " in workers.log(p) for p in pair), 60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{workers.diagnostics()}") from None
    alice = api.caller("alice")
    deck = alice.artifact(
        {"prompt": "Launch plan: goals, market and risks", "page_count": KILL_TEST_SLIDES}
    )
    created = alice.export_async(deck["id"], "png")
    job_id = created["job_id"]

    def mid_render() -> dict[str, Any] | None:
        row = api.job_row(job_id)
        assert row["state"] in ("queued", "running"), "finished before the kill: raise the DPI"
        done = row["progress_done"] or 0
        return row if row["state"] == "running" and 0 < done < KILL_TEST_SLIDES else None

    try:
        row = wait_until(mid_render, timeout=60, interval=0.02)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{workers.diagnostics()}") from None
    assert row is not None
    holder = workers.by_worker_id(row["worker_id"])
    survivor = next(process for process in pair if process is not holder)
    holder.kill()
    assert holder.wait(timeout=30) == -signal.SIGKILL
    assert api.job_row(job_id)["state"] == "running"  # still held by the dead worker's lease

    job = alice.finished_job(job_id, timeout=90)

    assert job["status"] == "completed", (job, workers.diagnostics())
    assert job["result"] == {"export_id": created["id"]}
    assert job["progress"] == {"done": KILL_TEST_SLIDES, "total": KILL_TEST_SLIDES}
    final = api.job_row(job_id)
    assert final["attempts"] >= 2
    assert final["worker_id"] is None
    assert "recovered 1 job(s) whose lease expired" in workers.log(survivor)
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

    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(timeout=30) == 0, workers.diagnostics()
    assert "Traceback" not in workers.log(survivor)
