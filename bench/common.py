"""Helpers shared by the benchmarks: free ports, waiting for a server, fresh databases,
the environment of a served API, and running a benchmark on each backend."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import psycopg

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new PostgreSQL database for one benchmark run, dropped afterwards."""
    name = f"nxdocs_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running(
    command: list[str], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def serve_env(database_url: str) -> dict[str, str]:
    """The environment for `nxdocs serve` on `database_url`: this one without the
    developer's NXDOCS_* settings, quiet logs, and the per-owner rate limit out of
    the way (one client flat out is what is measured, not the limiter)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXDOCS_")}
    env.update(
        NXDOCS_DATABASE_URL=database_url,
        NXDOCS_LOG_LEVEL="warning",
        NXDOCS_RATE_LIMIT_PER_SECOND="1000000",
        NXDOCS_RATE_LIMIT_BURST="1000000",
    )
    return env


def add_backend_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")


def on_each_backend(
    args: argparse.Namespace, bench: Callable[[str, str, argparse.Namespace], None]
) -> None:
    """`bench(name, database_url, args)` on a temporary SQLite file and/or a fresh
    PostgreSQL database, as `--backend` says."""
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            bench("sqlite", f"sqlite:///{tmp}/bench.db", args)
    if args.backend in ("postgres", "both"):
        with fresh_postgres_database() as url:
            bench("postgres", url, args)


async def create_artifact_jobs(
    client: httpx.AsyncClient, count: int, content: str, *, at_once: int = 8
) -> list[str]:
    """`count` artifact creates (`POST /v1/artifacts/async`), `at_once` at a time;
    their job ids."""
    limit = asyncio.Semaphore(at_once)

    async def create() -> str:
        async with limit:
            response = await client.post("/v1/artifacts/async", json={"content": content})
        if response.status_code != 202:
            raise RuntimeError(f"create: HTTP {response.status_code} {response.text[:300]}")
        job_id: str = response.json()["job_id"]
        return job_id

    return list(await asyncio.gather(*(create() for _ in range(count))))
