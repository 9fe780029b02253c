"""Queue benchmark: no-op jobs per second end to end, from enqueue to succeeded.

    .venv/bin/python -m bench.throughput [--jobs 5000] [--workers 2] [--backend both]

For each backend, on a fresh database (a new SQLite file; a new PostgreSQL
database): start `--workers` processes of `bench.noop_worker` (the
`nxdocs worker` code path with a no-op handler) and wait until each is idle
and claiming. The clock starts at the first enqueue. All jobs are enqueued
through `JobStore.enqueue`, `--batch` jobs per transaction; the clock stops
when a poll of the table (every 10 ms, on a plain connection that takes no
write lock) counts every job succeeded. Prints jobs/s, the time to enqueue and
to drain, and the p50/p99/max of each job's `updated_at - created_at`
(enqueued -> completed, millisecond resolution, from the table).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.common import fresh_postgres_database
from nxdocs.db.schema import jobs
from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, NewJob
from nxdocs.settings import Settings
from nxdocs.system import System, build_system

ROOT = Path(__file__).resolve().parent.parent
WORKER = [sys.executable, "-m", "bench.noop_worker"]
POLL_SECONDS = 0.01
TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Result:
    backend: str
    jobs: int
    workers: int
    enqueue_s: float
    drain_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    failed: int

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.drain_s


@contextmanager
def workers(
    database_url: str, args: argparse.Namespace, logs: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`args.workers` no-op worker processes, started and claiming; stopped with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXDOCS_")}
    env.update(
        NXDOCS_DATABASE_URL=database_url,
        NXDOCS_WORKER_CONCURRENCY=str(args.concurrency),
        NXDOCS_POLL_INTERVAL_SECONDS=str(args.poll_interval),
        NXDOCS_LOG_LEVEL="info",
        # One owner's no-op jobs: the fair claim still runs, without its cap,
        # so every slot counts (the cap would hold one back for other owners).
        NXDOCS_MAX_RUNNING_PER_OWNER="0",
    )
    processes: list[subprocess.Popen[bytes]] = []
    outputs = [logs / f"worker{index}.log" for index in range(args.workers)]
    try:
        for output in outputs:
            with output.open("wb") as sink:
                processes.append(
                    subprocess.Popen(WORKER, cwd=ROOT, env=env, stdout=sink, stderr=sink)
                )
        _wait_started(processes, outputs)
        yield processes
    finally:
        _stop(processes, outputs)


def _wait_started(processes: list[subprocess.Popen[bytes]], outputs: list[Path]) -> None:
    deadline = time.monotonic() + 60
    while not all(" started, concurrency " in output.read_text() for output in outputs):
        if any(process.poll() is not None for process in processes) or (
            time.monotonic() > deadline
        ):
            raise RuntimeError("a worker did not start:\n" + _tails(outputs))
        time.sleep(0.05)


def _stop(processes: list[subprocess.Popen[bytes]], outputs: list[Path]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if code != 0:
            print(f"warning: worker pid {process.pid} exited {code}\n{_tails(outputs)}")


def _tails(outputs: list[Path]) -> str:
    return "\n".join(
        f"--- {output.name}\n" + "\n".join(output.read_text().splitlines()[-20:])
        for output in outputs
    )


def enqueue_all(system: System, owner_id: str, count: int, batch: int) -> None:
    for start in range(0, count, batch):
        with system.engine.begin() as connection:
            for index in range(start, min(start + batch, count)):
                payload = {"artifact_id": new_id("doc"), "n": index}
                job = NewJob(new_id("job"), owner_id, ARTIFACT_CREATE, payload)
                system.store.enqueue(connection, job, max_attempts=system.settings.max_attempts)


def count_done(reads: sa.Engine) -> int:
    with reads.connect() as connection:
        done = connection.execute(
            sa.select(sa.func.count()).where(jobs.c.state.in_(["succeeded", "failed"]))
        ).scalar_one()
    return int(done)


def latencies_and_failures(reads: sa.Engine) -> tuple[list[int], int]:
    with reads.connect() as connection:
        rows = connection.execute(
            sa.select(jobs.c.state, jobs.c.updated_at - jobs.c.created_at)
        ).all()
    failed = sum(1 for row in rows if row[0] != "succeeded")
    return sorted(int(row[1]) for row in rows), failed


def percentile(ordered: list[int], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(fraction * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def run_backend(name: str, database_url: str, args: argparse.Namespace) -> Result:
    # Migrates the fresh database; one owner enqueues every job, past the default cap.
    system = build_system(Settings(database_url=database_url, max_active_jobs_per_owner=0))
    # The System's SQLite engine opens even reads with BEGIN IMMEDIATE; the poll must
    # not take the write lock from the workers it is timing.
    reads = sa.create_engine(database_url)
    try:
        owner_id = system.keys.create("bench").owner_id
        with tempfile.TemporaryDirectory() as logs, workers(database_url, args, Path(logs)):
            started = time.perf_counter()
            enqueue_all(system, owner_id, args.jobs, args.batch)
            enqueued = time.perf_counter()
            while count_done(reads) < args.jobs:
                if time.perf_counter() - started > TIMEOUT_SECONDS:
                    raise RuntimeError(f"{name}: jobs not finished after {TIMEOUT_SECONDS}s")
                time.sleep(POLL_SECONDS)
            drained = time.perf_counter()
        latencies, failed = latencies_and_failures(reads)
    finally:
        reads.dispose()
        system.close()
    return Result(
        backend=name,
        jobs=args.jobs,
        workers=args.workers,
        enqueue_s=enqueued - started,
        drain_s=drained - started,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        max_ms=float(latencies[-1]),
        failed=failed,
    )


def print_table(results: list[Result], args: argparse.Namespace) -> None:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"\n{args.jobs} no-op jobs, {args.workers} worker processes x concurrency "
        f"{args.concurrency}, batches of {args.batch}, poll interval {args.poll_interval}s; "
        f"{os.cpu_count()} CPUs, load average {load}\n"
    )
    header = (
        f"{'backend':10} {'jobs':>6} {'workers':>7} {'enqueue s':>9} {'drain s':>8} "
        f"{'jobs/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'failed':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.backend:10} {r.jobs:>6} {r.workers:>7} {r.enqueue_s:>9.2f} {r.drain_s:>8.2f} "
            f"{r.jobs_per_s:>8.0f} {r.p50_ms:>8.0f} {r.p99_ms:>8.0f} {r.max_ms:>8.0f} "
            f"{r.failed:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="No-op jobs per second, enqueue -> succeeded.")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--batch", type=int, default=500, help="jobs per enqueue transaction")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs at once per worker")
    parser.add_argument(
        "--poll-interval", type=float, default=0.2, help="workers' fallback poll, seconds"
    )
    args = parser.parse_args()
    results = []
    with ExitStack() as stack:
        if args.backend in ("sqlite", "both"):
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            results.append(run_backend("sqlite", f"sqlite:///{tmp / 'bench.db'}", args))
        if args.backend in ("postgres", "both"):
            url = stack.enter_context(fresh_postgres_database())
            results.append(run_backend("postgres", url, args))
    print_table(results, args)


if __name__ == "__main__":
    main()
