"""Webhook benchmark: deliveries per second to a local receiver, and the delay from a
job's completion to its delivery.

    .venv/bin/python -m bench.webhooks [--jobs 2000] [--workers 2] [--webhook-concurrency 8 32]
                                       [--endpoints 1] [--noop-jobs] [--backend both]

For each backend and each `--webhook-concurrency`, on a fresh database:
`nxdocs serve --no-worker`, `--workers` processes of `nxdocs worker` (the real
command: real handlers, and the webhook sender beside the job loop, which
makes that many attempts at once per process), and `bench.webhook_receiver`,
a raw asyncio HTTP server in its own process that answers 204 and notes when
each delivery's body is in. Loopback is admitted with
`NXDOCS_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8`. One key registers
`--endpoints` endpoints (`POST /v1/webhook_endpoints`, `job.completed` and
`job.failed`), each its own path on the receiver. Two phases:

1. **end to end**: `--jobs` artifact creates (`POST /v1/artifacts/async`, a
   one-slide Markdown `content`, 8 requests at once) while the workers run
   them; each completion queues a delivery per endpoint in the transaction that
   ends the job, and the senders send them. Stops when the receiver holds all
   of them. `deliveries/s` = deliveries / (last receipt - first receipt);
   `jobs/s` = jobs / (last `updated_at` - first) from the payloads, the rate
   the deliveries were made at; the delay of each delivery is its receipt
   minus the payload's `data.updated_at` (the job's completion, in ms,
   stamped just before the hook and the commit).
2. **backlog**: with the workers idle, one transaction queues a delivery per
   endpoint for each of those jobs again through the job store's own hook
   (`WebhookOutbox.enqueue`, the statement a completion runs), then pushes all
   their `next_attempt_at` to one moment a second later. The senders, told of
   the commit, wait until then (the time of the next due delivery) and find
   the whole backlog due at once: `deliveries/s` is the senders' own rate
   with no jobs running (claim with the payload built from the job row, sign,
   send, record), first to last receipt.

With `--noop-jobs` the workers are `bench.noop_worker` (the same worker code
path, webhook sender included, with handlers that return at once), so jobs
end as fast as the API takes them and the senders, not the jobs, set the pace.

CPU columns: each group of processes' CPU time over the phase's wall time
(100% = one core), and the workers' CPU time per delivery. The end-to-end
delay is also split at the delivery's `created_at` and its attempt's
`started_at` (`delay_parts`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa

from bench.common import (
    create_artifact_jobs,
    free_port,
    fresh_postgres_database,
    running,
    serve_env,
    wait_for_http,
)
from nxdocs.db.schema import webhook_attempts, webhook_deliveries
from nxdocs.settings import Settings
from nxdocs.system import build_system
from nxdocs.webhooks.model import JOB_COMPLETED, PENDING
from nxdocs.webhooks.outbox import WebhookOutbox

NXDOCS = str(Path(sys.executable).parent / "nxdocs")
ROOT = Path(__file__).resolve().parent.parent
RECEIVER = [sys.executable, "-m", "bench.webhook_receiver"]
NOOP_WORKER = [sys.executable, "-m", "bench.noop_worker"]
CONTENT = "# Webhooks\n\nOne slide; its job's end is a webhook."
CREATES_AT_ONCE = 8
BACKLOG_LEAD_SECONDS = 1.0
TIMEOUT_SECONDS = 600.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    name: str
    deliveries: int = 0
    expected: int = 0
    duplicates: int = 0
    first_s: float = 0.0  # first and last receipt, time.time()
    last_s: float = 0.0
    start_s: float = 0.0  # first create (end to end) or the moment due (backlog)
    jobs_per_s: float | None = None
    delays_ms: list[float] = field(default_factory=list)
    parts_ms: dict[str, list[float]] = field(default_factory=dict)  # the delay's parts
    records: list[list[object]] = field(default_factory=list)  # the receiver's
    cpu: dict[str, float] = field(default_factory=dict)  # process group -> CPU s
    wall_s: float = 0.0

    @property
    def per_s(self) -> float:
        span = self.last_s - self.first_s
        return self.deliveries / span if span > 0 else float("nan")


@dataclass
class Run:
    backend: str
    concurrency: int
    phases: list[Phase] = field(default_factory=list)


# --- processes -----------------------------------------------------------------------


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


@dataclass
class Servers:
    base: str
    receiver: str
    key: str
    owner_id: str
    groups: dict[str, list[subprocess.Popen[bytes]]]

    def cpu(self) -> dict[str, float]:
        return {
            name: sum(process_cpu_s(p.pid) for p in processes)
            for name, processes in self.groups.items()
        }


@contextmanager
def workers(
    env: dict[str, str], count: int, logs: Path, command: list[str]
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` worker processes, started; stopped with SIGTERM."""
    worker_env = {**env, "NXDOCS_LOG_LEVEL": "info"}
    outputs = [logs / f"worker{index}.log" for index in range(count)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for output in outputs:
            with output.open("wb") as sink:
                processes.append(
                    subprocess.Popen(command, cwd=ROOT, env=worker_env, stdout=sink, stderr=sink)
                )
        deadline = time.monotonic() + 60
        while not all(" started, concurrency " in output.read_text() for output in outputs):
            if any(p.poll() is not None for p in processes) or time.monotonic() > deadline:
                raise RuntimeError("a worker did not start:\n" + _tails(outputs))
            time.sleep(0.05)
        time.sleep(0.5)  # their first claims, on an empty queue
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        errors = [
            line
            for output in outputs
            for line in output.read_text().splitlines()
            if "WARNING" in line or "ERROR" in line
        ]
        if errors:
            print(f"  worker warnings/errors ({len(errors)}), the first:\n  " + errors[0])


def _tails(outputs: list[Path]) -> str:
    return "\n".join(
        f"--- {output.name}\n" + "\n".join(output.read_text().splitlines()[-20:])
        for output in outputs
    )


# --- the phases ------------------------------------------------------------------------


def timestamp_s(text: str) -> float:
    """`2026-01-15T10:30:00.123Z` -> Unix seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def create_jobs(servers: Servers, count: int) -> list[str]:
    async with httpx.AsyncClient(
        base_url=servers.base, headers={"Authorization": f"Bearer {servers.key}"}, timeout=60
    ) as client:
        return await create_artifact_jobs(client, count, CONTENT, at_once=CREATES_AT_ONCE)


def wait_received(servers: Servers, expected: int) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with httpx.Client(base_url=servers.receiver) as client:
        while int(client.get("/count").text) < expected:
            if time.monotonic() > deadline:
                count = client.get("/count").text
                raise RuntimeError(f"{count} of {expected} deliveries after {TIMEOUT_SECONDS}s")
            time.sleep(0.02)


def collect(servers: Servers, phase: Phase, cpu_before: dict[str, float], started: float) -> None:
    """The receiver's records (which it then forgets) and the CPU used, into `phase`."""
    phase.wall_s = time.time() - started
    after = servers.cpu()
    phase.cpu = {name: after[name] - cpu_before[name] for name in after}
    answer = orjson.loads(httpx.get(f"{servers.receiver}/records").content)
    rows = phase.records = answer["records"]
    phase.deliveries = len(rows)
    phase.duplicates = answer["duplicates"]
    received = [row[1] for row in rows]
    phase.first_s, phase.last_s = min(received), max(received)
    completed = [timestamp_s(row[6]) for row in rows]
    if phase.name == "end to end":
        phase.delays_ms = sorted(
            (row[1] - done) * 1000 for row, done in zip(rows, completed, strict=True)
        )
        span = max(completed) - min(completed)
        jobs = len({row[5] for row in rows})
        phase.jobs_per_s = jobs / span if span > 0 else None


def delay_parts(database_url: str, endpoints: dict[str, str], phase: Phase) -> None:
    """Split each delay at the delivery's `created_at` (queued by the hook, inside the
    job's transaction, before its commit) and at its attempt's `started_at` (after the
    claim's commit): `hook` = created_at - the job's updated_at, `claim` = started_at -
    created_at (commit, wake-up, claim), `send` = receipt - started_at (sign, HTTP)."""
    d, a = webhook_deliveries.c, webhook_attempts.c
    query = sa.select(d.endpoint_id, d.id, d.created_at, sa.func.max(a.started_at)).join(
        webhook_attempts, sa.and_(a.endpoint_id == d.endpoint_id, a.delivery_id == d.id)
    )
    reads = sa.create_engine(database_url)
    try:
        with reads.connect() as connection:
            rows = connection.execute(query.group_by(d.endpoint_id, d.id, d.created_at)).all()
    finally:
        reads.dispose()
    stamps = {(row[0], row[1]): (row[2] / 1000, row[3] / 1000) for row in rows}
    parts: dict[str, list[float]] = {"hook": [], "claim": [], "send": []}
    for record in phase.records:
        key = (endpoints[str(record[2])], str(record[0]))
        received, updated_at = float(record[1]), str(record[6])
        if key not in stamps:
            continue
        created, started = stamps[key]
        parts["hook"].append((created - timestamp_s(updated_at)) * 1000)
        parts["claim"].append((started - created) * 1000)
        parts["send"].append((received - started) * 1000)
    phase.parts_ms = {name: sorted(values) for name, values in parts.items()}


def end_to_end(servers: Servers, args: argparse.Namespace) -> tuple[Phase, list[str]]:
    phase = Phase("end to end", expected=args.jobs * args.endpoints)
    cpu_before = servers.cpu()
    phase.start_s = started = time.time()
    job_ids = asyncio.run(create_jobs(servers, args.jobs))
    wait_received(servers, phase.expected)
    collect(servers, phase, cpu_before, started)
    return phase, job_ids


def backlog(
    servers: Servers, database_url: str, job_ids: list[str], args: argparse.Namespace
) -> Phase:
    phase = Phase("backlog", expected=len(job_ids) * args.endpoints)
    system = build_system(Settings(database_url=database_url), migrate=False)
    try:
        outbox = WebhookOutbox(
            system.clock,
            system.notifier,
            system.store.now_sql,
            retry_seconds=system.settings.webhook_retry_seconds,
        )
        time.sleep(1.0)  # the senders idle again after the last phase
        with system.engine.begin() as connection:
            for job_id in job_ids:
                outbox.enqueue(connection, servers.owner_id, job_id, JOB_COMPLETED)
            due = time.time() + BACKLOG_LEAD_SECONDS
            connection.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.state == PENDING)
                .values(next_attempt_at=int(due * 1000))
            )
        phase.start_s = due
        time.sleep(max(0.0, due - time.time()))
        cpu_before = servers.cpu()
        wait_received(servers, phase.expected)
        collect(servers, phase, cpu_before, due)
    finally:
        system.close()
    return phase


def bench_backend(name: str, database_url: str, concurrency: int, args: argparse.Namespace) -> Run:
    run = Run(name, concurrency)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        data_dir = Path(tmp) / "data"
        system = build_system(Settings(database_url=database_url, data_dir=data_dir))
        key = system.keys.create("bench")
        system.close()
        port, receiver_port = free_port(), free_port()
        env = serve_env(database_url)
        env.update(
            NXDOCS_DATA_DIR=str(data_dir),
            NXDOCS_MAX_ACTIVE_JOBS_PER_OWNER="0",
            NXDOCS_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
            NXDOCS_WEBHOOK_CONCURRENCY=str(concurrency),
            NXDOCS_WORKER_CONCURRENCY=str(args.worker_concurrency),
        )
        receiver = stack.enter_context(running([*RECEIVER, str(receiver_port)]))
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        wait_for_http(f"{receiver_url}/count")
        api = stack.enter_context(
            running([NXDOCS, "serve", "--no-worker", "--port", str(port)], env)
        )
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health")
        command = NOOP_WORKER if args.noop_jobs else [NXDOCS, "worker"]
        worker_processes = stack.enter_context(workers(env, args.workers, Path(tmp), command))
        servers = Servers(
            base,
            receiver_url,
            key.secret,
            key.owner_id,
            {"api": [api], "workers": worker_processes, "receiver": [receiver]},
        )
        headers = {"Authorization": f"Bearer {key.secret}"}
        endpoints = {}  # the receiver's path -> the endpoint's id
        for index in range(args.endpoints):
            response = httpx.post(
                f"{base}/v1/webhook_endpoints",
                headers=headers,
                json={
                    "url": f"{receiver_url}/hook/{index}",
                    "events": ["job.completed", "job.failed"],
                },
            )
            if response.status_code != 201:
                raise RuntimeError(f"endpoint: HTTP {response.status_code} {response.text[:300]}")
            endpoints[f"/hook/{index}"] = response.json()["id"]
        phase, job_ids = end_to_end(servers, args)
        delay_parts(database_url, endpoints, phase)
        run.phases.append(phase)
        print(f"  {name} concurrency {concurrency}: {summary(phase)}")
        if not args.skip_backlog:
            phase = backlog(servers, database_url, job_ids, args)
            run.phases.append(phase)
            print(f"  {name} concurrency {concurrency}: {summary(phase)}")
    return run


# --- the table ---------------------------------------------------------------------------


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(phase: Phase) -> str:
    text = f"{phase.name}: {phase.deliveries} deliveries, {phase.per_s:.0f}/s"
    if phase.delays_ms:
        text += (
            f", delay p50 {percentile(phase.delays_ms, 0.5):.0f} ms"
            f" p99 {percentile(phase.delays_ms, 0.99):.0f} ms"
        )
    return text


def print_table(runs: list[Run], args: argparse.Namespace, load: str) -> None:
    kind = "no-op (bench.noop_worker)" if args.noop_jobs else "artifact"
    print(
        f"\n{args.jobs} {kind} jobs, {args.endpoints} endpoint(s), {args.workers} worker "
        f"processes x job concurrency {args.worker_concurrency}; "
        f"{os.cpu_count()} CPUs, load average {load} before the run\n"
    )
    header = (
        f"{'backend':9} {'conc':>4} {'phase':11} {'deliv':>6} {'deliv/s':>7} {'jobs/s':>6} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'dup':>4} "
        f"{'workers':>7} {'ms/deliv':>8} {'api':>5} {'recv':>5}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        for phase in run.phases:
            wall = phase.wall_s or 1.0
            delays = phase.delays_ms
            p50, p99, top = (
                (
                    f"{percentile(delays, 0.5):7.0f}",
                    f"{percentile(delays, 0.99):7.0f}",
                    f"{delays[-1]:7.0f}",
                )
                if delays
                else ("", "", "")
            )
            jobs = f"{phase.jobs_per_s:6.0f}" if phase.jobs_per_s else ""
            lost = phase.expected - phase.deliveries
            print(
                f"{run.backend:9} {run.concurrency:>4} {phase.name:11} {phase.deliveries:>6} "
                f"{phase.per_s:>7.0f} {jobs:>6} {p50:>7} {p99:>7} {top:>7} "
                f"{phase.duplicates:>4} {phase.cpu['workers'] / wall:>7.0%} "
                f"{phase.cpu['workers'] * 1000 / max(phase.deliveries, 1):>8.1f} "
                f"{phase.cpu['api'] / wall:>5.0%} {phase.cpu['receiver'] / wall:>5.0%}"
                + (f"  {lost} missing" if lost else "")
            )
    print("\nThe end-to-end delay in parts, p50 / p99 ms (see delay_parts):")
    for run in runs:
        for phase in run.phases:
            if phase.parts_ms:
                print(
                    f"{run.backend:9} {run.concurrency:>4}  "
                    + "  ".join(
                        f"{name} {percentile(values, 0.5):.0f} / {percentile(values, 0.99):.0f}"
                        for name, values in phase.parts_ms.items()
                        if values
                    )
                )
    print(
        "\nconc: webhook_concurrency (attempts at once per worker process); deliv/s: first to "
        "last receipt;\njobs/s: first to last completion (end to end); p50/p99/max: completion "
        "(data.updated_at) to receipt;\nworkers / api / recv: CPU time over the phase's wall "
        "time (100% = one core);\nms/deliv: the workers' CPU time per delivery (in the end-to-end "
        "phase, with the jobs' own)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Webhook deliveries/s and completion->delivery.")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="nxdocs worker processes")
    parser.add_argument("--worker-concurrency", type=int, default=4, help="jobs at once per worker")
    parser.add_argument(
        "--webhook-concurrency", type=int, nargs="+", default=[8, 32], help="one run per value"
    )
    parser.add_argument("--endpoints", type=int, default=1, help="endpoints of the one key")
    parser.add_argument("--skip-backlog", action="store_true")
    parser.add_argument(
        "--noop-jobs",
        action="store_true",
        help="workers run bench.noop_worker (jobs end at once) instead of nxdocs worker",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    runs = []
    for concurrency in args.webhook_concurrency:
        if args.backend in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{tmp}/bench.db"
                runs.append(bench_backend("sqlite", url, concurrency, args))
        if args.backend in ("postgres", "both"):
            with fresh_postgres_database() as url:
                runs.append(bench_backend("postgres", url, concurrency, args))
    print_table(runs, args, load)
    after = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average after the run: {after}")


if __name__ == "__main__":
    main()
