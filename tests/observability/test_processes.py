"""The real `nxdocs serve` (with its worker process) and one more `nxdocs worker`:
one scrape of the server counts the jobs of both workers, and every log line
is JSON with the request's or the job's id, never the key."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nxdocs.jobs.model import ARTIFACT_CREATE
from tests.support.deployment import create_key, settings_env
from tests.support.metrics import Samples, scrape, value
from tests.support.process import NXDOCS
from tests.support.server import free_port
from tests.support.waiting import wait_until
from tests.support.worker_processes import NXDOCS_WORKER, WorkerProcesses

pytestmark = pytest.mark.slow

LOGS = {"log_format": "json", "log_level": "debug", "worker_concurrency": 2}
CREATED = {"type": ARTIFACT_CREATE}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    client: httpx.Client
    stderr: Path

    def lines(self) -> list[dict[str, Any]]:
        """Every line it (and its worker process) logged: each must be JSON."""
        return [json.loads(line) for line in self.stderr.read_text().splitlines()]


@contextmanager
def nxdocs_serve(tmp_path: Path, env: dict[str, str], key: str) -> Iterator[Server]:
    """`nxdocs serve` with its standard error apart, stopped with SIGTERM at the end."""
    port = free_port()
    stderr = tmp_path / "serve.stderr"
    with (tmp_path / "serve.stdout").open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [NXDOCS, "serve", "--port", str(port)], env=env, stdout=out, stderr=err
        )
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    try:
        wait_until(lambda: process.poll() is not None or _ready(client), timeout=60)
        assert process.poll() is None, stderr.read_text()
        yield Server(process, client, stderr)
    finally:
        client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.TransportError:
        return False


def create_artifacts(server: Server, count: int) -> list[str]:
    """`count` artifacts from Markdown in the background; their job ids, once all finished."""
    job_ids = []
    for number in range(count):
        response = server.client.post(
            "/v1/artifacts/async",
            json={"content": f"# Deck {number}\n\nA slide."},
            headers={"X-Request-Id": f"obs-{number}"},
        )
        assert response.status_code == 202, response.text
        job_ids.append(response.json()["job_id"])

    def completed() -> bool:
        jobs = [server.client.get(f"/v1/jobs/{job_id}").json() for job_id in job_ids]
        assert all(job["status"] != "failed" for job in jobs), jobs
        return all(job["status"] == "completed" for job in jobs)

    wait_until(completed, timeout=60, interval=0.1)
    return job_ids


def counted(server: Server, finished: int) -> Samples:
    """A scrape once `finished` jobs are counted (each is counted just after its write)."""

    def scraped() -> Samples | None:
        samples = scrape(server.client)
        done = value(samples, "nxdocs_jobs_finished_total", **CREATED, state="succeeded")
        return samples if done == finished else None

    return wait_until(scraped, timeout=10, interval=0.1)


def ended_pid() -> int:
    """The id of a process that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def worker_pids(metrics: Path) -> set[int]:
    """Processes with a worker loop: only workers keep the loops gauge."""
    return {int(path.stem.rpartition("_")[2]) for path in metrics.glob("gauge_livesum_*.db")}


def test_one_scrape_counts_two_worker_processes_and_logs_are_json(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    key = create_key(postgres_schema_url, data_dir)
    metrics = data_dir / "metrics" / socket.gethostname()
    metrics.mkdir(parents=True)
    left_over = metrics / f"counter_{ended_pid()}.db"  # by a process of an earlier run
    left_over.write_bytes(b"")
    env = settings_env(postgres_schema_url, data_dir, **LOGS)
    with (
        nxdocs_serve(tmp_path, env, key) as server,
        closing(
            WorkerProcesses(tmp_path, postgres_schema_url, data_dir, command=NXDOCS_WORKER)
        ) as extra,
    ):
        assert not left_over.exists()
        ready = server.client.get("/readyz", headers={"Request-Id": "ready-1"})
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "worker": "ok"}
        assert ready.headers["request-id"] == "ready-1"
        refused = httpx.get(f"{server.client.base_url}/v1/artifacts")
        assert refused.status_code == 401
        assert len(refused.headers["request-id"]) == 32

        # First the worker process `nxdocs serve` started runs the jobs alone...
        first = create_artifacts(server, 3)
        before = counted(server, 3)
        [child] = worker_pids(metrics)
        # ... then, with it stopped, only the other worker can run them.
        os.kill(child, signal.SIGSTOP)
        try:
            worker = extra.start_ready(**LOGS)[0]
            second = create_artifacts(server, 3)
            after = counted(server, 6)
        finally:
            os.kill(child, signal.SIGCONT)
        assert worker_pids(metrics) == {child, worker.pid}
        assert value(after, "nxdocs_worker_loops") == 2
        for name in ("nxdocs_job_attempts_total", "nxdocs_job_duration_seconds_count"):
            assert (value(before, name, **CREATED), value(after, name, **CREATED)) == (3, 6)
        assert value(after, "nxdocs_job_duration_seconds_bucket", **CREATED, le="+Inf") == 6
        posted = {"method": "POST", "route": "/v1/artifacts/async", "status": "202"}
        assert value(after, "nxdocs_http_responses_total", **posted) == 6
        assert value(after, "nxdocs_queue_depth") == 0
        extra.stop_all()

    lines = server.lines()
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    requests = {line["request_id"]: line["message"] for line in lines if "request_id" in line}
    assert requests["ready-1"].startswith("GET /readyz answered 200 in ")
    assert requests["obs-0"].startswith("POST /v1/artifacts/async answered 202 in ")
    assert {line["job_id"] for line in lines if "job_id" in line} == set(first)
    worker_output = worker.text()
    worker_lines = [json.loads(line) for line in worker_output.splitlines()]
    assert {line["job_id"] for line in worker_lines if "job_id" in line} == set(second)
    everything = server.stderr.read_text() + (tmp_path / "serve.stdout").read_text()
    assert key not in everything + worker_output
