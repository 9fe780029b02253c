"""HTTP creates per second: `POST /v1/artifacts/async` with a tiny Markdown body.

    .venv/bin/python -m bench.creates [--seconds 10] [--rounds 3] [--connections 16]
                                      [--owners 1] [--max-active 0] [--backend both]

For each backend, a fresh database (a SQLite file; a new PostgreSQL database)
with `--owners` owners, one key each, and one `nxdocs serve --no-worker`
(rate limit out of the way, `NXDOCS_MAX_ACTIVE_JOBS_PER_OWNER=--max-active`,
0 by default: no cap). With both backends, both servers run at once and the
rounds alternate between them, so drift in the machine's load falls on both.
Each round is one wrk run of `--seconds` with `--connections` keep-alive
connections, each request the next owner's key and the same body
(`{"content": "# Creates\\n\\nOne slide."}`): creates per second, p50 and
p99 latency, answers other than 2xx, and the API process's CPU over the run
(100% = one core). After the rounds the jobs table is counted against the
creates wrk saw answered.

No worker runs: what is measured is what the API and the database accept,
each create being one transaction (artifact row, job row, wake-up). A worker
on the same two cores would take CPU from the API, and the figure would
then be the split of the machine between the two.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from bench.common import (
    free_port,
    fresh_postgres_database,
    machine_line,
    rotating_creates,
    run_wrk,
    serve_env,
    wait_for_http,
)
from bench.wait import api_server, process_cpu_s
from nxdocs.settings import Settings
from nxdocs.system import build_system

CONTENT = "# Creates\n\nOne slide."
WARM_UP_SECONDS = 2


@dataclass
class Server:
    backend: str
    url: str
    base: str
    pid: int
    script: Path
    runs: list[dict[str, float]] = field(default_factory=list)
    answered: float = 0.0  # creates wrk saw answered, warm-up included


def start(stack: ExitStack, backend: str, url: str, tmp: Path, args: argparse.Namespace) -> Server:
    system = build_system(Settings(database_url=url))
    try:
        keys = [system.keys.create(f"bench{i}", new_owner=True).secret for i in range(args.owners)]
    finally:
        system.close()
    port = free_port()
    env = serve_env(url)
    env.update(
        NXDOCS_DATA_DIR=str(tmp / f"data-{backend}"),
        NXDOCS_MAX_ACTIVE_JOBS_PER_OWNER=str(args.max_active),
    )
    api = stack.enter_context(api_server(port, env, tmp / f"api-{backend}.log"))
    scripts = tmp / f"scripts-{backend}"
    scripts.mkdir()
    script = rotating_creates(keys, CONTENT, scripts)
    return Server(backend, url, f"http://127.0.0.1:{port}", api.pid, script)


def one_round(server: Server, seconds: float, connections: int) -> dict[str, float]:
    cpu, started = process_cpu_s(server.pid), time.perf_counter()
    figures = run_wrk(
        f"{server.base}/", seconds=seconds, connections=connections, script=server.script
    )
    figures["api_cpu"] = (process_cpu_s(server.pid) - cpu) / (time.perf_counter() - started)
    server.answered += figures["requests"] - figures["non2xx"]
    return figures


def jobs_in(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM jobs")).scalar_one())
    finally:
        engine.dispose()


def bench(args: argparse.Namespace) -> list[Server]:
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        servers = []
        for backend in backends:
            url = (
                f"sqlite:///{tmp}/creates.db"
                if backend == "sqlite"
                else stack.enter_context(fresh_postgres_database())
            )
            servers.append(start(stack, backend, url, tmp, args))
        for server in servers:
            wait_for_http(f"{server.base}/health", timeout=120)
            one_round(server, WARM_UP_SECONDS, args.connections)
        print(f"measuring ({machine_line()})", flush=True)
        for round_ in range(args.rounds):
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                figures = one_round(server, args.seconds, args.connections)
                server.runs.append(figures)
                print(
                    f"  {server.backend:9} {figures['rps']:7.0f} creates/s  "
                    f"p50 {figures['p50_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms  "
                    f"non-2xx {figures['non2xx']:.0f}  API CPU {figures['api_cpu']:.0%}",
                    flush=True,
                )
        for server in servers:
            stored = jobs_in(server.url)
            in_flight = args.connections * (args.rounds + 1)  # answered after wrk stopped
            if not server.answered <= stored <= server.answered + in_flight:
                print(f"  warning: {server.backend}: {stored} jobs, {server.answered:.0f} answered")
        return servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--owners", type=int, default=1, help="keys the requests rotate over")
    parser.add_argument(
        "--max-active", type=int, default=0, help="NXDOCS_MAX_ACTIVE_JOBS_PER_OWNER (0: no cap)"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    servers = bench(args)
    print(
        f"\nPOST /v1/artifacts/async, {args.connections} connections, {args.owners} owner(s), "
        f"cap on active jobs {args.max_active or 'off'}, no worker; median of {args.rounds} "
        f"rounds of {args.seconds:g} s; {machine_line()}\n"
    )
    header = (
        f"{'backend':9} {'creates/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} "
        f"{'API CPU':>7}  creates/s of each round"
    )
    print(header)
    print("-" * len(header))
    for server in servers:
        m = {stat: statistics.median(run[stat] for run in server.runs) for stat in server.runs[0]}
        rounds = " ".join(f"{run['rps']:.0f}" for run in server.runs)
        print(
            f"{server.backend:9} {m['rps']:>9.0f} {m['p50_ms']:>7.1f} {m['p99_ms']:>7.1f} "
            f"{sum(r['non2xx'] for r in server.runs):>7.0f} {m['api_cpu']:>7.0%}  {rounds}"
        )


if __name__ == "__main__":
    main()
