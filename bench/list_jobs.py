"""Job-list benchmark: GET /v1/jobs over a million jobs, beside the poll route, same run.

    .venv/bin/python -m bench.list_jobs [--jobs 1000000] [--seconds 5] [--connections 16]

For SQLite and PostgreSQL: fills the jobs table with `--jobs` jobs (nine in
ten of them one owner's, mostly finished, a few failed, cancelled or queued;
the rest spread over 100 other owners), starts `nxdocs serve --no-worker`,
and runs wrk against list pages (first page, 100 items, each filter, a page
deep in the list) and against the peer: the first page of `GET /v1/artifacts`
of an owner with a single artifact, the same framework route over a table of
one row. Prints requests/s, p50, p99 and each list's ratio to the peer: a
list that read the owner's jobs rather than an index range would fall far
behind it. `GET /v1/jobs/{id}` (the poll route, served ahead of the
framework) is shown for scale.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack

import sqlalchemy as sa

from bench.common import (
    add_backend_option,
    free_port,
    on_each_backend,
    running,
    serve_env,
    wait_for_http,
)
from bench.poll import NXDOCS, wrk
from nxdocs.settings import Settings
from nxdocs.system import build_system

START_MS = 1_700_000_000_000
# One job a second: created_at and id order agree, and any time names a place.
_JOBS = """
    SELECT 'job_b' || i,
           CASE WHEN i % 10 = 0 THEN 'user_bench' || (i % 100) ELSE :owner END,
           CASE WHEN i % 3 = 0 THEN 'export.run' ELSE 'artifact.create' END,
           CASE WHEN i % 20 = 1 THEN 'failed' WHEN i % 50 = 2 THEN 'cancelled'
                WHEN i % 33 = 3 THEN 'queued' ELSE 'succeeded' END,
           '{}',
           CASE WHEN i % 20 = 1 OR i % 50 = 2 OR i % 33 = 3 THEN NULL
                ELSE '{"artifact_id": "doc_bench"}' END,
           CASE WHEN i % 20 = 1 THEN 'RENDER_FAILED' WHEN i % 50 = 2 THEN 'CANCELLED' END,
           CASE WHEN i % 20 = 1 OR i % 50 = 2 THEN 'It failed.' END,
           1, 3, 0, :start + i * 1000, :start + i * 1000
    FROM {series}
"""
_COLUMNS = (
    "id, owner_id, type, state, payload, result, error_code, error_message, "
    "attempts, max_attempts, run_at, created_at, updated_at"
)
_SERIES = {
    "postgresql": ("", "generate_series(1, :count) AS s(i)"),
    "sqlite": (
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :count) ",
        "s",
    ),
}


def seed(database_url: str, count: int) -> tuple[str, str, str]:
    """(key, a completed job of the key's owner, a job id in the middle of its list)."""
    system = build_system(Settings(database_url=database_url))
    key = system.keys.create("bench")
    with system.engine.begin() as connection:  # the peer's one artifact
        connection.execute(
            sa.text(
                "INSERT INTO artifacts (id, owner_id, job_id, name, type, status, request, "
                "created_at, updated_at) VALUES ('doc_bench', :owner, 'job_b1', 'Bench', "
                "'presentation', 'ready', '{}', 0, 0)"
            ),
            {"owner": key.owner_id},
        )
    prefix, series = _SERIES[system.engine.dialect.name]
    with system.engine.begin() as connection:
        connection.execute(
            sa.text(
                f"{prefix}INSERT INTO owners (id, created_at, updated_at) "
                f"SELECT 'user_bench' || (i - 1), 0, 0 FROM {series}"
            ),
            {"count": 100},
        )
        jobs = _JOBS.replace("{series}", series)
        statement = f"INSERT INTO jobs ({_COLUMNS}) {prefix}{jobs}"
        connection.execute(
            sa.text(statement), {"count": count, "owner": key.owner_id, "start": START_MS}
        )
        connection.execute(sa.text("ANALYZE"))
    system.close()
    completed = f"job_b{count - 1}"  # the owner's, succeeded (see _JOBS)
    middle = f"job_b{count // 2 + 1}"
    return key.secret, completed, middle


def bench_backend(name: str, database_url: str, args: argparse.Namespace) -> None:
    key, completed, middle = seed(database_url, args.jobs)
    port = free_port()
    env = serve_env(database_url)
    day_before_end = "2023-11-25T00:00:00.000Z"
    pages = {
        "first page": "limit=20",
        "100 items": "limit=100",
        "failed": "status=failed&limit=20",
        "exports": "type=export.run&limit=20",
        "3 filters": f"status=processing&type=export.run&created_before={day_before_end}",
        "deep cursor": f"limit=20&after={middle}",
    }
    with ExitStack() as stack:
        stack.enter_context(running([NXDOCS, "serve", "--no-worker", "--port", str(port)], env))
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health")
        wrk(f"{base}/v1/jobs?limit=20", key, 2, args.connections)  # warm-up
        peer = wrk(f"{base}/v1/artifacts?limit=20", key, args.seconds, args.connections)
        poll = wrk(f"{base}/v1/jobs/{completed}", key, args.seconds, args.connections)
        for label, measured in (("artifacts list", peer), ("poll route", poll)):
            print(
                f"{name:10} {label:14} {measured['rps']:9.0f} req/s  "
                f"p50 {measured['p50_ms']:.2f} ms  p99 {measured['p99_ms']:.2f} ms"
            )
        for label, query in pages.items():
            ours = wrk(f"{base}/v1/jobs?{query}", key, args.seconds, args.connections)
            print(
                f"{name:10} {label:14} {ours['rps']:9.0f} req/s  p50 {ours['p50_ms']:.2f} ms  "
                f"p99 {ours['p99_ms']:.2f} ms  non-2xx {ours['non2xx']:.0f}  "
                f"ratio to the artifacts list {ours['rps'] / peer['rps']:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    add_backend_option(parser)
    on_each_backend(parser.parse_args(), bench_backend)


if __name__ == "__main__":
    main()
