"""Helpers shared by the benchmarks: free ports, waiting for a server, fresh databases,
the environment of a served API, and running a benchmark on each backend."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

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


# --- wrk with a Lua script, for requests that differ from one to the next ------------


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    key: str | None = None,
    script: Path | None = None,
) -> dict[str, float]:
    """One wrk run (one thread, keep-alive connections): requests/s, p50 and p99 in
    ms, and the count of answers outside 2xx/3xx. `script` is a Lua file that
    builds each request (see `rotating_gets`, `rotating_creates`). Also `requests`,
    the number answered."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    if key:
        command += ["-H", f"Authorization: Bearer {key}"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    requests = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if requests is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "requests": float(total.group(1)) if total else 0.0,
        "rps": float(requests.group(1)),
        "p50_ms": _wrk_latency_ms(out, "50%"),
        "p99_ms": _wrk_latency_ms(out, "99%"),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


def _wrk_latency_ms(out: str, label: str) -> float:
    found = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
    if found is None:
        raise RuntimeError(f"wrk printed no {label} latency:\n{out}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def rotating_gets(prefix: str, ids: list[str], directory: Path) -> Path:
    """A wrk script that GETs `prefix` + each of `ids` in turn, round and round
    (the key comes from wrk's `-H`)."""
    ids_file = directory / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    script = directory / "gets.lua"
    script.write_text(
        f"local ids = {{}}\n"
        f"for line in io.lines({_lua_string(str(ids_file))}) do ids[#ids + 1] = line end\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n % #ids + 1\n"
        f"  return wrk.format(nil, {_lua_string(prefix)} .. ids[n])\n"
        "end\n"
    )
    return script


def rotating_creates(keys: list[str], content: str, directory: Path) -> Path:
    """A wrk script that POSTs `{"content": content}` to `/v1/artifacts/async`,
    each request with the next of `keys` (one key: every request the same owner's)."""
    keys_file = directory / "keys.txt"
    keys_file.write_text("\n".join(keys) + "\n")
    body = json.dumps({"content": content})
    script = directory / "creates.lua"
    script.write_text(
        f"local keys = {{}}\n"
        f"for line in io.lines({_lua_string(str(keys_file))}) do keys[#keys + 1] = line end\n"
        f"local body = {_lua_string(body)}\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n % #keys + 1\n"
        "  local headers = {}\n"
        '  headers["Authorization"] = "Bearer " .. keys[n]\n'
        '  headers["Content-Type"] = "application/json"\n'
        '  return wrk.format("POST", "/v1/artifacts/async", headers, body)\n'
        "end\n"
    )
    return script


def _lua_string(text: str) -> str:
    """A Lua string literal: JSON's escapes are Lua's too, but for `\\u` (non-ASCII)."""
    if not text.isascii():
        raise ValueError("Lua literals here are ASCII only")
    return json.dumps(text)


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg takes it."""
    return "postgresql://" + database_url.split("://", 1)[1]


def machine_line() -> str:
    """CPU count and load average, to print with the figures."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}"
