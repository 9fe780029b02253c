"""Scale of data: the same measurements over a small and a large table of finished jobs.

    .venv/bin/python -m bench.scale [--rows 10000 1000000] [--rounds 3] [--seconds 3]
                                    [--measure http claim create]
                                    [--backend sqlite|postgres|both]

For each backend, two fresh databases, each migrated, with 1,000 owners (one
key each) and `--rows` finished jobs between them (`bench.scale_data`: the
first owner holds 13% of them; written with COPY or executemany, then
analysed). Then, against one `nxdocs serve --no-worker` per database, each
measurement alternates between the two databases round by round, so that
drift in the machine's load falls on both:

- `poll`: `GET /v1/jobs/{id}` over 1,000 of the first owner's jobs picked
  at random (all of them if it has fewer; the same number at both sizes:
  more distinct jobs cost more at any size, see bench/README.md), with the
  poll cache off (`NXDOCS_POLL_CACHE_MAX_BYTES=0`): every poll reads its
  row, which is what could grow with the table (a cached poll never reads);
- `list first`: `GET /v1/jobs?limit=20`, the first owner's newest page;
- `list deep`: the page after the first owner's median job (`after=`);
- `claim`: `--claim-jobs` no-op jobs of `--claim-owners` owners enqueued in
  one transaction while `--claim-workers` processes of `bench.noop_worker`
  (`bench.throughput.workers`) wait idle, timed from the commit until none is
  queued or running: jobs claimed and completed per second;
- `create`: `POST /v1/artifacts/async` with a one-slide Markdown body, each
  request with the next owner's key (the per-owner cap on active jobs stays
  at its default: its check is part of a create, and no owner nears it).

The wrk measurements use `--connections` keep-alive connections for
`--seconds` each. Each figure is the median over the rounds; the table shows
both sizes and the ratio large/small, flagged where a latency grew or a rate
fell by more than 20%.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa

from bench.common import (
    add_backend_option,
    free_port,
    fresh_postgres_database,
    libpq_url,
    machine_line,
    rotating_creates,
    rotating_gets,
    run_wrk,
    serve_env,
    wait_for_http,
)
from bench.scale_data import OWNERS, Dataset, prepare
from bench.throughput import workers
from bench.wait import api_server
from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, NewJob
from nxdocs.settings import Settings
from nxdocs.system import System, build_system

POLL_SAMPLE = 1_000
CONTENT = "# Scale\n\nOne slide, to measure creates."

# --- measuring -----------------------------------------------------------------------


@dataclass
class Served:
    dataset: Dataset
    base: str
    scripts: Path


def measure_http(served: Served, args: argparse.Namespace) -> None:
    data, base = served.dataset, served.base
    rng = random.Random(1)
    sample = rng.sample(data.first_owner_jobs, min(POLL_SAMPLE, len(data.first_owner_jobs)))
    middle = data.first_owner_jobs[len(data.first_owner_jobs) // 2]
    runs = {
        "poll": (f"{base}/", rotating_gets("/v1/jobs/", sample, served.scripts)),
        "list first": (f"{base}/v1/jobs?limit=20", None),
        "list deep": (f"{base}/v1/jobs?limit=20&after={middle}", None),
    }
    for name, (url, script) in runs.items():
        figures = run_wrk(
            url,
            seconds=args.seconds,
            connections=args.connections,
            key=data.keys[0],
            script=script,
        )
        _note(data, name, figures)


def measure_creates(served: Served, args: argparse.Namespace) -> None:
    script = rotating_creates(served.dataset.keys, CONTENT, served.scripts)
    figures = run_wrk(
        f"{served.base}/", seconds=args.seconds, connections=args.connections, script=script
    )
    _note(served.dataset, "create", figures)


def _note(data: Dataset, name: str, figures: dict[str, float]) -> None:
    for stat in ("p50_ms", "p99_ms", "rps"):
        data.figures.setdefault(f"{name} {stat}", []).append(figures[stat])
    if figures["non2xx"]:
        data.figures.setdefault(f"{name} non-2xx", []).append(figures["non2xx"])
    print(
        f"  {data.label:>8} {name:11} {figures['rps']:8.0f} req/s  p50 {figures['p50_ms']:6.2f} ms"
        f"  p99 {figures['p99_ms']:6.2f} ms  non-2xx {figures['non2xx']:.0f}",
        flush=True,
    )


def measure_claims(data: Dataset, args: argparse.Namespace) -> None:
    """No-op jobs claimed and completed per second, from the commit of their enqueue
    until none is queued or running, or `--claim-timeout` (then: those done so far,
    and the rest are cancelled by hand so the next round starts from an empty queue)."""
    system = build_system(
        Settings(database_url=data.url, max_active_jobs_per_owner=0), migrate=False
    )
    reads = sa.create_engine(data.url)  # plain reads: no SQLite write lock taken
    machinery = argparse.Namespace(workers=args.claim_workers, concurrency=4, poll_interval=0.2)
    try:
        with tempfile.TemporaryDirectory() as logs, workers(data.url, machinery, Path(logs)):
            time.sleep(0.5)  # the workers' first claims, on an empty queue
            stats = _statistics_age(data.url)  # as the claims will find them
            _enqueue_noop_jobs(system, data.owner_ids[: args.claim_owners], args.claim_jobs)
            started = time.perf_counter()
            while _any_unfinished(reads) and time.perf_counter() - started < args.claim_timeout:
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
        if left := _count_unfinished(reads):
            _cancel_unfinished(system.engine)
    finally:
        reads.dispose()
        system.close()
    rate = (args.claim_jobs - left) / elapsed
    data.figures.setdefault("claim jobs/s", []).append(rate)
    late = f", {left} not done: timed out" if left else ""
    print(
        f"  {data.label:>8} claim       {rate:8.0f} jobs/s ({elapsed:.2f} s{late}){stats}",
        flush=True,
    )


def _statistics_age(url: str) -> str:
    """On PostgreSQL, how old the planner's statistics of `jobs` are: the claim's
    plan depends on how many queued jobs they count."""
    if not url.startswith("postgresql"):
        return ""
    with psycopg.connect(libpq_url(url)) as connection:
        row = connection.execute(
            "SELECT n_mod_since_analyze, extract(epoch FROM now() - "
            "greatest(last_analyze, last_autoanalyze)) FROM pg_stat_user_tables "
            "WHERE relname = 'jobs'"
        ).fetchone()
    if row is None:
        return ""
    return f"; jobs analysed {float(row[1]):.0f} s before, {row[0]} row changes since"


def _enqueue_noop_jobs(system: System, owners: Sequence[str], count: int) -> None:
    """`count` jobs, round-robin over `owners`, in one transaction: all due at once."""
    with system.engine.begin() as connection:
        for index in range(count):
            payload = {"artifact_id": new_id("doc"), "n": index}
            job = NewJob(new_id("job"), owners[index % len(owners)], ARTIFACT_CREATE, payload)
            system.store.enqueue(connection, job, max_attempts=3)


def _cancel_unfinished(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE jobs SET state = 'cancelled', worker_id = NULL, lease_expires_at = NULL "
                "WHERE state IN ('queued', 'running')"
            )
        )


# Each test is one partial index's predicate: neither reads finished jobs.
_QUEUED_OR_RUNNING = ("queued", "running")


def _any_unfinished(reads: sa.Engine) -> bool:
    """Whether a job is queued or running: the first index entry answers, so that
    polling every 10 ms costs the database next to nothing."""
    with reads.connect() as connection:
        return any(
            connection.execute(
                sa.text(f"SELECT EXISTS (SELECT 1 FROM jobs WHERE state = '{state}')")
            ).scalar_one()
            for state in _QUEUED_OR_RUNNING
        )


def _count_unfinished(reads: sa.Engine) -> int:
    with reads.connect() as connection:
        return sum(
            int(
                connection.execute(
                    sa.text(f"SELECT count(*) FROM jobs WHERE state = '{state}'")
                ).scalar_one()
            )
            for state in _QUEUED_OR_RUNNING
        )


# --- one backend, and the table -----------------------------------------------------------


def bench_backend(name: str, args: argparse.Namespace) -> tuple[Dataset, Dataset]:
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        urls = [
            f"sqlite:///{tmp}/scale{index}.db"
            if name == "sqlite"
            else stack.enter_context(fresh_postgres_database())
            for index in range(2)
        ]
        print(f"{name}: filling", flush=True)
        small, large = (
            prepare(_label(rows), rows, url, seed)
            for seed, (rows, url) in enumerate(zip(args.rows, urls, strict=True))
        )
        served = []
        for index, data in enumerate((small, large)):
            port, data_dir = free_port(), tmp / f"data{index}"
            scripts = tmp / f"scripts{index}"
            scripts.mkdir()
            env = serve_env(data.url)
            env.update(NXDOCS_DATA_DIR=str(data_dir), NXDOCS_POLL_CACHE_MAX_BYTES="0")
            stack.enter_context(api_server(port, env, tmp / f"api{index}.log"))
            served.append(Served(data, f"http://127.0.0.1:{port}", scripts))
        for each in served:
            wait_for_http(f"{each.base}/health", timeout=120)
            run_wrk(
                f"{each.base}/v1/jobs?limit=20", seconds=1, connections=4, key=each.dataset.keys[0]
            )
        print(f"{name}: measuring ({machine_line()})", flush=True)
        steps = {
            "http": lambda s: measure_http(s, args),
            "claim": lambda s: measure_claims(s.dataset, args),
            "create": lambda s: measure_creates(s, args),  # last: its jobs stay queued
        }
        for step in (steps[name] for name in steps if name in args.measure):
            for round_ in range(args.rounds):
                for each in served if round_ % 2 == 0 else served[::-1]:
                    step(each)
    return small, large


def _label(rows: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{suffix}"
    return str(rows)


LIMIT = 0.20


def print_table(name: str, small: Dataset, large: Dataset) -> list[str]:
    """The table for one backend; returns the metrics beyond the limit."""
    header = f"{'backend':9} {'metric':22} {small.label:>10} {large.label:>10} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    beyond = []
    for metric, values in small.figures.items():
        if "non-2xx" in metric:
            continue
        a, b = statistics.median(values), statistics.median(large.figures[metric])
        ratio = b / a if a else float("nan")
        rate = metric.endswith(("rps", "jobs/s"))
        worse = ratio < 1 - LIMIT if rate else ratio > 1 + LIMIT
        flag = "  BEYOND 20%" if worse else ""
        if worse:
            beyond.append(f"{name} {metric}")
        shown = metric.replace("rps", "req/s")
        print(f"{name:9} {shown:22} {a:>10.2f} {b:>10.2f} {ratio:>7.2f}{flag}")
    for data in (small, large):
        for metric, values in data.figures.items():
            if "non-2xx" in metric:
                print(f"{name:9} {data.label}: {metric} {sum(values):.0f} over the rounds")
    return beyond


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs=2, default=[10_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3, help="per wrk measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--claim-jobs", type=int, default=2000)
    parser.add_argument("--claim-owners", type=int, default=20)
    parser.add_argument("--claim-workers", type=int, default=2)
    parser.add_argument(
        "--claim-timeout", type=float, default=60, help="seconds before a claim round gives up"
    )
    parser.add_argument(
        "--measure",
        nargs="+",
        choices=["http", "claim", "create"],
        default=["http", "claim", "create"],
        help="http: poll and both list pages",
    )
    add_backend_option(parser)
    args = parser.parse_args()
    results = []
    for name in ("sqlite", "postgres"):
        if args.backend in (name, "both"):
            results.append((name, *bench_backend(name, args)))
    print(
        f"\nFinished jobs {args.rows[0]} vs {args.rows[1]}, {OWNERS} owners; median of "
        f"{args.rounds} rounds; wrk {args.connections} connections x {args.seconds:g} s; "
        f"claims: {args.claim_jobs} jobs of {args.claim_owners} owners, "
        f"{args.claim_workers} workers x 4; {machine_line()}\n"
    )
    beyond = []
    for name, small, large in results:
        beyond += print_table(name, small, large)
        print()
    print("beyond 20%: " + (", ".join(beyond) if beyond else "none"))


if __name__ == "__main__":
    main()
