"""Poll-path benchmark: GET /v1/jobs/{id} against a bare Starlette endpoint, same run.

    .venv/bin/python bench/poll.py [--seconds 10] [--connections 16]

For SQLite and PostgreSQL: starts `nxdocs serve --no-worker` (one process),
polls a processing job and a completed job with wrk (16 keep-alive
connections), then a processing job while other jobs complete at
--churn-per-second (each completion a commit the poll cache must honour),
beside a bare Starlette app serving the same bytes from memory, and prints
requests/s, p50, p99 and the ratio to the bare endpoint.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from bench.common import (
    add_backend_option,
    free_port,
    on_each_backend,
    running,
    serve_env,
    wait_for_http,
)
from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, NewJob
from nxdocs.settings import Settings
from nxdocs.system import build_system

NXDOCS = str(Path(sys.executable).parent / "nxdocs")


def seed(database_url: str) -> tuple[str, str, str]:
    """A key, a processing job and a completed job, among 10,000 others (one owner's,
    past the default cap on active jobs)."""
    system = build_system(Settings(database_url=database_url, max_active_jobs_per_owner=0))
    key = system.keys.create("bench")
    ids = []
    with system.engine.begin() as connection:
        for index in range(10_000):
            payload = {"artifact_id": f"doc_bench{index}"}
            job = NewJob(new_id("job"), key.owner_id, ARTIFACT_CREATE, payload)
            system.store.enqueue(connection, job, max_attempts=3)
            ids.append(job.id)
    done = system.store.claim("bench", 1, 60)[0]
    system.store.complete(done, "bench", {"artifact_id": new_id("doc")})
    system.close()
    # The newest job: the churn below claims the oldest first and never reaches it.
    processing = ids[-1]
    return key.secret, processing, done.id


@contextmanager
def churn(database_url: str, per_second: float) -> Iterator[None]:
    """Other jobs finishing meanwhile: every completion is a commit (and a notification)
    that the poll cache must honour."""
    system = build_system(Settings(database_url=database_url), migrate=False)
    stop = threading.Event()

    def finish_jobs() -> None:
        while not stop.wait(1 / per_second):
            for job in system.store.claim("churn", 1, 60):
                system.store.complete(job, "churn", {"artifact_id": "doc_churn"})

    thread = threading.Thread(target=finish_jobs, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        system.close()


def wrk(url: str, key: str | None, seconds: int, connections: int) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if key:
        command[1:1] = ["-H", f"Authorization: Bearer {key}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _latency(out, "50%"),
        "p99_ms": _latency(out, "99%"),
        "non2xx": float(m.group(1))
        if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out))
        else 0.0,
    }


def _latency(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def report(name: str, label: str, ours: dict[str, float], bare: dict[str, float]) -> None:
    print(
        f"{name:10} {label:14} {ours['rps']:9.0f} req/s  p50 {ours['p50_ms']:.2f} ms  "
        f"p99 {ours['p99_ms']:.2f} ms  non-2xx {ours['non2xx']:.0f}  "
        f"ratio to bare {ours['rps'] / bare['rps']:.2f}"
    )


def bench_backend(name: str, database_url: str, args: argparse.Namespace) -> None:
    key, processing, completed = seed(database_url)
    port, bare_port = free_port(), free_port()
    env = serve_env(database_url)
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        stack.enter_context(running([NXDOCS, "serve", "--no-worker", "--port", str(port)], env))
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health")
        body = httpx.get(
            f"{base}/v1/jobs/{completed}", headers={"Authorization": f"Bearer {key}"}
        ).content
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(body)
        stack.enter_context(
            running([sys.executable, "-m", "bench.bare_app", str(bare_port), str(body_file)])
        )
        wait_for_http(f"http://127.0.0.1:{bare_port}/v1/jobs/x")
        wrk(f"{base}/v1/jobs/{completed}", key, 2, args.connections)  # warm-up
        bare = wrk(
            f"http://127.0.0.1:{bare_port}/v1/jobs/{completed}",
            None,
            args.seconds,
            args.connections,
        )
        for label, job_id in (("completed", completed), ("processing", processing)):
            ours = wrk(f"{base}/v1/jobs/{job_id}", key, args.seconds, args.connections)
            report(name, label, ours, bare)
        with churn(database_url, args.churn_per_second):
            ours = wrk(f"{base}/v1/jobs/{processing}", key, args.seconds, args.connections)
        report(name, f"churn {args.churn_per_second:g}/s", ours, bare)
        print(
            f"{name:10} {'bare':14} {bare['rps']:9.0f} req/s  p50 {bare['p50_ms']:.2f} ms  "
            f"p99 {bare['p99_ms']:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    add_backend_option(parser)
    parser.add_argument(
        "--churn-per-second", type=float, default=100, help="Other jobs completed per second"
    )
    on_each_backend(parser.parse_args(), bench_backend)


if __name__ == "__main__":
    main()
