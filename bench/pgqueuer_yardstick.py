"""pgqueuer, measured the way `bench.throughput` measures nxdocs: the yardstick.

    python -m bench.pgqueuer_yardstick worker DSN    (one worker process)

`run_pgqueuer` installs pgqueuer's schema in the benchmark's database, starts
`--workers` processes of pgqueuer's own QueueManager (psycopg 3, autocommit as
pgqueuer requires, one no-op entrypoint, pgqueuer's defaults: batches of 10,
completions buffered), waits until each listens, then enqueues every job
through `Queries.enqueue` from one producer, `--batch` jobs per call (one
statement, one transaction). pgqueuer deletes a job from its queue table in
the statement that logs its completion, so the clock stops when a poll
(every 10 ms) finds the queue table empty. Latencies come from pgqueuer's
log table: each job's `successful` row minus its `queued` row.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from pgqueuer import PsycopgDriver, Queries, QueueManager
from pgqueuer.models import Job

from bench.queue_runs import (
    POLL_SECONDS,
    ROOT,
    TIMEOUT_SECONDS,
    Result,
    started_processes,
    stopped_processes,
)

ENTRYPOINT = "noop"
_READY = "pgqueuer worker listening"


async def _work(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
        manager = QueueManager(Queries(PsycopgDriver(connection)))

        @manager.entrypoint(ENTRYPOINT)
        async def noop(job: Job) -> None:
            pass

        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, manager.shutdown.set)
        loop.call_later(0.5, lambda: print(_READY, flush=True))
        await manager.run()


async def _install_and_enqueue(dsn: str, count: int, batch: int) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
        queries = Queries(PsycopgDriver(connection))
        for start in range(0, count, batch):
            size = min(batch, count - start)
            if size == 1:
                await queries.enqueue(ENTRYPOINT, str(start).encode())
            else:
                payloads: list[bytes | None] = [str(n).encode() for n in range(start, start + size)]
                await queries.enqueue([ENTRYPOINT] * size, payloads, [0] * size)


async def _install(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
        await Queries(PsycopgDriver(connection)).install()


def run_pgqueuer(database_url: str, args: argparse.Namespace) -> Result:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    asyncio.run(_install(dsn))
    command = [sys.executable, "-m", "bench.pgqueuer_yardstick", "worker", dsn]
    with tempfile.TemporaryDirectory() as logs, psycopg.connect(dsn, autocommit=True) as reads:
        outputs = [Path(logs) / f"pgqueuer{index}.log" for index in range(args.workers)]
        processes = started_processes([command] * args.workers, outputs, _READY, cwd=ROOT)
        try:
            started = time.perf_counter()
            asyncio.run(_install_and_enqueue(dsn, args.jobs, args.batch))
            enqueued = time.perf_counter()
            while _queued(reads):
                if time.perf_counter() - started > TIMEOUT_SECONDS:
                    raise RuntimeError(f"pgqueuer: jobs not finished after {TIMEOUT_SECONDS}s")
                time.sleep(POLL_SECONDS)
            drained = time.perf_counter()
        finally:
            stopped_processes(processes, outputs)
        latencies, failed = _latencies_and_failures(reads, args.jobs)
    return Result.of("pgqueuer", args, (started, enqueued, drained), latencies, failed)


def _queued(reads: psycopg.Connection) -> int:
    row = reads.execute("SELECT count(*) FROM pgqueuer").fetchone()
    return int(row[0]) if row else 0


def _latencies_and_failures(reads: psycopg.Connection, jobs: int) -> tuple[list[int], int]:
    rows = reads.execute(
        """
        SELECT (extract(epoch FROM done.created - queued.created) * 1000)::bigint
        FROM pgqueuer_log queued
        JOIN pgqueuer_log done ON done.job_id = queued.job_id AND done.status = 'successful'
        WHERE queued.status = 'queued'
        """
    ).fetchall()
    return sorted(int(row[0]) for row in rows), jobs - len(rows)


if __name__ == "__main__":
    if sys.argv[1:2] != ["worker"] or len(sys.argv) != 3:
        sys.exit("usage: python -m bench.pgqueuer_yardstick worker DSN")
    asyncio.run(_work(sys.argv[2]))
