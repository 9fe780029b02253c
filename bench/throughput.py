"""Queue benchmark: no-op jobs per second end to end, from enqueue to succeeded.

    .venv/bin/python -m bench.throughput [--jobs 5000] [--workers 2] [--backend both] [--rounds 3]

For each backend, on a fresh database (a new SQLite file; a new PostgreSQL
database): start `--workers` processes of `bench.noop_worker` (the
`nxdocs worker` code path with a no-op handler) and wait until each is idle
and claiming. The clock starts at the first enqueue. All jobs are enqueued
from one producer, `--batch` jobs per transaction (`JobStore.submit` for a
batch of one, `JobStore.enqueue` in a transaction for more); the clock stops
when a poll of the table (every 10 ms, on a plain connection that takes no
write lock) counts every job succeeded. Prints jobs/s, the time to enqueue and
to drain, and the p50/p99/max of each job's `updated_at - created_at`
(enqueued -> completed, millisecond resolution, from the table).

On PostgreSQL, pgqueuer runs in the same invocation as the yardstick, by the
same method on a database of its own (`bench.pgqueuer_yardstick`), and each
nxdocs figure is printed as a multiple of the pgqueuer run of its own round.
Every backend runs once per round, PostgreSQL and pgqueuer in alternating
order, and the ratio reported is the median over the rounds: on a shared
machine the speed available drifts between runs by more than the gap being
measured. The default is the method of the issue that set the target: one
producer enqueuing one job per transaction.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import sqlalchemy as sa

from bench.common import fresh_postgres_database
from bench.pgqueuer_yardstick import run_pgqueuer
from bench.queue_runs import (
    POLL_SECONDS,
    ROOT,
    TIMEOUT_SECONDS,
    Result,
    started_processes,
    stopped_processes,
)
from nxdocs.db.schema import jobs
from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, NewJob
from nxdocs.settings import Settings
from nxdocs.system import System, build_system

WORKER = [sys.executable, "-m", "bench.noop_worker"]


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
    outputs = [logs / f"worker{index}.log" for index in range(args.workers)]
    processes = started_processes(
        [WORKER] * args.workers, outputs, " started, concurrency ", cwd=ROOT, env=env
    )
    try:
        yield processes
    finally:
        stopped_processes(processes, outputs)


def enqueue_all(system: System, owner_id: str, count: int, batch: int) -> None:
    """`count` jobs, `batch` per transaction; a batch of one is `JobStore.submit`
    (the job is its whole transaction), more are `JobStore.enqueue` in one."""
    attempts = system.settings.max_attempts
    if batch == 1:
        for index in range(count):
            payload = {"artifact_id": new_id("doc"), "n": index}
            system.store.submit(
                NewJob(new_id("job"), owner_id, ARTIFACT_CREATE, payload), max_attempts=attempts
            )
        return
    for start in range(0, count, batch):
        with system.engine.begin() as connection:
            for index in range(start, min(start + batch, count)):
                payload = {"artifact_id": new_id("doc"), "n": index}
                job = NewJob(new_id("job"), owner_id, ARTIFACT_CREATE, payload)
                system.store.enqueue(connection, job, max_attempts=attempts)


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
    return Result.of(name, args, (started, enqueued, drained), latencies, failed)


def print_table(rounds: list[list[Result]], args: argparse.Namespace) -> None:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"\n{args.jobs} no-op jobs, {args.workers} worker processes x concurrency "
        f"{args.concurrency}, batches of {args.batch}, poll interval {args.poll_interval}s; "
        f"{len(rounds)} round(s); {os.cpu_count()} CPUs, load average {load}\n"
    )
    header = (
        f"{'round':>5} {'backend':10} {'jobs':>6} {'workers':>7} {'enqueue s':>9} "
        f"{'drain s':>8} {'jobs/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'failed':>6}"
    )
    print(header)
    print("-" * len(header))
    for number, results in enumerate(rounds, 1):
        for r in results:
            print(
                f"{number:>5} {r.backend:10} {r.jobs:>6} {r.workers:>7} {r.enqueue_s:>9.2f} "
                f"{r.drain_s:>8.2f} {r.jobs_per_s:>8.0f} {r.p50_ms:>8.0f} {r.p99_ms:>8.0f} "
                f"{r.max_ms:>8.0f} {r.failed:>6}"
            )


def print_ratios(rounds: list[list[Result]]) -> None:
    """Each backend against the pgqueuer run of its own round, and the median of
    those ratios: on a shared machine, conditions drift between rounds more than
    within one."""
    ratios: dict[str, list[float]] = {}
    for results in rounds:
        yardstick = next((r for r in results if r.backend == "pgqueuer"), None)
        if yardstick is None:
            return
        for r in results:
            if r is not yardstick:
                ratios.setdefault(r.backend, []).append(r.jobs_per_s / yardstick.jobs_per_s)
    for backend, values in ratios.items():
        each = ", ".join(f"{value:.2f}" for value in values)
        print(f"{backend}: {statistics.median(values):.2f}x pgqueuer (median; rounds: {each})")


def run_round(number: int, args: argparse.Namespace) -> list[Result]:
    """One round: each backend once; PostgreSQL and pgqueuer swap order every
    round, so neither always runs on the machine the other just warmed."""
    results = []
    with ExitStack() as stack:
        if args.backend in ("sqlite", "both"):
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            results.append(run_backend("sqlite", f"sqlite:///{tmp / 'bench.db'}", args))
        runs = []
        if args.backend in ("postgres", "both"):
            runs.append(lambda url: run_backend("postgres", url, args))
            if not args.no_pgqueuer:
                runs.append(lambda url: run_pgqueuer(url, args))
        if number % 2 == 0:
            runs.reverse()
        for run in runs:
            results.append(run(stack.enter_context(fresh_postgres_database())))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="No-op jobs per second, enqueue -> succeeded.")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--batch", type=int, default=1, help="jobs per enqueue transaction")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs at once per worker")
    parser.add_argument(
        "--poll-interval", type=float, default=0.2, help="workers' fallback poll, seconds"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each with every backend")
    parser.add_argument("--no-pgqueuer", action="store_true", help="skip the pgqueuer yardstick")
    args = parser.parse_args()
    rounds = [run_round(number, args) for number in range(1, args.rounds + 1)]
    print_table(rounds, args)
    print_ratios(rounds)


if __name__ == "__main__":
    main()
