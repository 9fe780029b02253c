"""Load benchmark: mixed API traffic from a fixed number of clients for a fixed time.

    .venv/bin/python -m bench.load [--setup sqlite|postgres|both] [--clients 16]
                                   [--seconds 30] [--quick]

Setups (`bench.cluster`): `sqlite` is one `nxdocs serve` with its worker process
on a fresh SQLite file; `postgres` is a fresh PostgreSQL database,
`--api-nodes` (2) `nxdocs serve --no-worker --no-migrate` and `--worker-nodes`
(2) `nxdocs worker --no-migrate`, with every file in a SeaweedFS bucket.
`--owners` (4) keys, made by `nxdocs keys create --new-owner`; client i uses
key i mod owners.

Each client is a loop in one asyncio process (an httpx.AsyncClient of its own,
keep-alive), with no pause between requests. It draws its next step from a
weighted mix:

- create (20): `POST /v1/artifacts/async`, a one-slide Markdown `content`;
- poll (50): `GET /v1/jobs/{id}`, one of its unfinished jobs half the time,
  else one of its last 16 jobs (mostly finished: the poll cache's hit path);
- wait (10): `GET /v1/jobs/{id}?wait=5` on one of its unfinished jobs: a
  long-poll that answers when the job finishes, after 5 s at most;
- export (5): `POST /v1/exports/async` of one of its ready artifacts
  (`--export-format`, pdf: rendered for real, hence a small share);
- download (15): `GET` of the `download_url` of one of its completed exports.

A client has at most `--in-flight` (4) jobs unfinished, artifacts and exports
together, so the queue stays bounded, jobs keep finishing, and creates go at
the pace the workers finish them. A step that cannot be taken (a create or an
export with `--in-flight` jobs unfinished, an export with no ready artifact,
a wait with no unfinished job, a download with no file yet) becomes a create,
or a poll of an unfinished job when the client may not create. When a poll or
a wait sees an export's job finished, the client reads `GET /v1/exports/{id}`
for its `download_url`. A client sends its requests to the API nodes in turn,
so on PostgreSQL a job made on one node is polled, waited on and downloaded on
both; a download link signed by one node is fetched from either (the
signature covers the export, not the host).

Traffic runs unrecorded for `--warmup` seconds and until some client holds a
completed export (a worker's first render loads fonts and fills caches), then
`--seconds` recorded: a request counts if its answer arrived in that window.
Per route template: answers, errors (non-2xx or a transport failure; those of
the warm-up are counted apart), answers per second, p50 and p99 of the
client's time from sending to the whole body read. The wait route's time is
mostly the job's own: it answers when the job finishes. Below the table: jobs
finished per second as the clients saw them, answers per API node, and for
each group of processes its CPU time and its time runnable but waiting for a
CPU (the scheduler's run delay, all threads summed), both over the window's
wall time (100% = one core), with the whole machine's share busy.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.cluster import (
    Cluster,
    CpuSample,
    cpu_between,
    machine_cpu_s,
    postgres_cluster,
    process_wait_s,
    sqlite_cluster,
)
from bench.common import machine_line
from nxdocs.settings import Settings

CREATE = "POST /v1/artifacts/async"
POLL = "GET /v1/jobs/{id}"
WAIT = "GET /v1/jobs/{id}?wait"
EXPORT = "POST /v1/exports/async"
EXPORT_GET = "GET /v1/exports/{id}"
DOWNLOAD = "GET /v1/files/{id}/{name}"
ROUTES = (CREATE, POLL, WAIT, EXPORT, EXPORT_GET, DOWNLOAD)
MIX = {"create": 20, "poll": 50, "wait": 10, "export": 5, "download": 15}
WAIT_SECONDS = 5
RECENT = 16  # jobs a client polls among
KEPT = 8  # ready artifacts and completed exports a client keeps to export and download
ERROR_EXAMPLES = 5
WARMUP_TIMEOUT_SECONDS = 120.0
# The nodes keep NXDOCS_MAX_ACTIVE_JOBS_PER_OWNER at its default: an owner's
# clients never have that many jobs unfinished (`--in-flight` each), so the cap
# is checked on every create but never refuses one.
DEFAULT_ACTIVE_JOBS_CAP: int = Settings.model_fields["max_active_jobs_per_owner"].default


# --- what the clients record ------------------------------------------------------------


@dataclass
class Recorder:
    """Latencies and errors per route, kept only inside the recorded window; errors and
    failed jobs of the warm-up are counted too, apart."""

    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {r: [] for r in ROUTES})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROUTES, 0))
    examples: list[str] = field(default_factory=list)
    jobs_done: dict[str, int] = field(default_factory=lambda: {"artifact": 0, "export": 0})
    jobs_failed: int = 0  # warm-up included
    unrecorded_errors: int = 0  # in the warm-up
    per_node: Counter[str] = field(default_factory=Counter)  # answers by API node
    bytes_downloaded: int = 0
    recording: bool = False

    def answer(self, route: str, started: float, response: httpx.Response) -> None:
        if self.recording:
            self.per_node[f"{response.url.host}:{response.url.port}"] += 1
        if not response.is_success:
            self.error(route, f"HTTP {response.status_code} {response.text[:200]}")
        if not self.recording:
            return
        self.latencies_ms[route].append((time.perf_counter() - started) * 1000)
        if route == DOWNLOAD and response.is_success:
            self.bytes_downloaded += len(response.content)

    def error(self, route: str, text: str) -> None:
        if self.recording:
            self.errors[route] += 1
        else:
            self.unrecorded_errors += 1
        if len(self.examples) < ERROR_EXAMPLES:
            self.examples.append(f"{route}: {text}")

    def job_finished(self, kind: str, body: dict[str, object]) -> None:
        if body["status"] == "completed":
            if self.recording:
                self.jobs_done[kind] += 1
        else:
            self.jobs_failed += 1
            if len(self.examples) < ERROR_EXAMPLES:
                self.examples.append(f"{kind} job {body['id']}: {body['status']} {body['error']}")


# --- one client ----------------------------------------------------------------------------


@dataclass
class Pending:
    kind: str  # "artifact" or "export"
    export_id: str | None = None


class LoadClient:
    """One client's loop over the mix, with its own jobs, artifacts and files."""

    def __init__(
        self,
        index: int,
        http: httpx.AsyncClient,
        cluster: Cluster,
        recorder: Recorder,
        args: argparse.Namespace,
    ) -> None:
        self.index = index
        self.http = http
        urls = cluster.api_urls
        self.nodes = cycle(urls[index % len(urls) :] + urls[: index % len(urls)])
        self.recorder = recorder
        self.args = args
        self.rng = random.Random(index)
        self.pending: dict[str, Pending] = {}
        self.recent: deque[str] = deque(maxlen=RECENT)
        self.artifacts: deque[str] = deque(maxlen=KEPT)
        self.downloads: deque[str] = deque(maxlen=KEPT)
        self.made = 0

    async def run(self) -> None:
        steps = list(MIX)
        weights = list(MIX.values())
        while True:
            await self.step(self.rng.choices(steps, weights)[0])

    async def step(self, kind: str) -> None:
        full = len(self.pending) >= self.args.in_flight
        if kind == "export" and self.artifacts and not full:
            await self.export()
        elif kind == "download" and self.downloads:
            await self.download()
        elif kind == "wait" and self.pending:
            await self.poll(self.rng.choice(list(self.pending)), wait=True)
        elif kind == "poll" and self.recent:
            await self.poll(self.choose_poll())
        elif not full:
            await self.create()
        else:
            await self.poll(self.rng.choice(list(self.pending)))

    def choose_poll(self) -> str:
        if self.pending and self.rng.random() < 0.5:
            return self.rng.choice(list(self.pending))
        return self.rng.choice(self.recent)

    async def send(
        self, route: str, method: str, path: str, json: dict[str, object] | None = None
    ) -> object | None:
        """One request to the next node; its JSON body if it succeeded, else None."""
        url = next(self.nodes) + path
        started = time.perf_counter()
        try:
            response = await self.http.request(method, url, json=json)
        except httpx.HTTPError as failure:
            self.recorder.error(route, repr(failure))
            return None
        self.recorder.answer(route, started, response)
        if not response.is_success:
            return None
        return response.json() if route != DOWNLOAD else True

    async def create(self) -> None:
        self.made += 1
        content = f"# Load {self.index}-{self.made}\n\nOne slide, made under load."
        body = await self.send(CREATE, "POST", "/v1/artifacts/async", json={"content": content})
        if isinstance(body, dict):
            self.pending[body["job_id"]] = Pending("artifact")
            self.recent.append(body["job_id"])

    async def export(self) -> None:
        request = {
            "artifact_id": self.rng.choice(self.artifacts),
            "format": self.args.export_format,
        }
        body = await self.send(EXPORT, "POST", "/v1/exports/async", json=request)
        if isinstance(body, dict):
            self.pending[body["job_id"]] = Pending("export", body["id"])
            self.recent.append(body["job_id"])

    async def poll(self, job_id: str, *, wait: bool = False) -> None:
        if wait:
            body = await self.send(WAIT, "GET", f"/v1/jobs/{job_id}?wait={WAIT_SECONDS}")
        else:
            body = await self.send(POLL, "GET", f"/v1/jobs/{job_id}")
        if not isinstance(body, dict) or body["status"] == "processing":
            return
        pending = self.pending.pop(job_id, None)
        if pending is None:
            return  # finished before, already seen
        self.recorder.job_finished(pending.kind, body)
        if body["status"] != "completed":
            return
        if pending.export_id is None:
            self.artifacts.append(body["result"]["artifact_id"])
            return
        export = await self.send(EXPORT_GET, "GET", f"/v1/exports/{pending.export_id}")
        if isinstance(export, dict) and export["download_url"]:
            link = urlsplit(export["download_url"])
            self.downloads.append(f"{link.path}?{link.query}")

    async def download(self) -> None:
        await self.send(DOWNLOAD, "GET", self.rng.choice(self.downloads))


# --- a run -----------------------------------------------------------------------------------


@dataclass
class Window:
    seconds: float
    cpu_s: dict[str, tuple[float, float]]  # group -> (CPU s, waiting for a CPU s)
    busy: float  # the machine's share of all its cores busy
    load: str


async def drive(cluster: Cluster, args: argparse.Namespace) -> tuple[Recorder, Window]:
    recorder = Recorder()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    # The clients' own full collections are no server's latency: off while recording.
    gc.collect()
    gc.freeze()
    https = [
        httpx.AsyncClient(
            headers={"Authorization": f"Bearer {cluster.keys[index % len(cluster.keys)]}"},
            timeout=WAIT_SECONDS + 30,
            limits=limits,
        )
        for index in range(args.clients)
    ]
    clients = [LoadClient(index, http, cluster, recorder, args) for index, http in enumerate(https)]
    tasks = [asyncio.create_task(client.run()) for client in clients]
    try:
        await asyncio.sleep(args.warmup)
        await _until_downloaded(clients, tasks)
        cpu_before, machine_before = _cpu(cluster)
        started = time.perf_counter()
        gc.disable()
        recorder.recording = True
        await asyncio.sleep(args.seconds)
        recorder.recording = False
        seconds = time.perf_counter() - started
        gc.enable()
        cpu_after, machine_after = _cpu(cluster)
        _raise_failed(tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for http in https:
            await http.aclose()
    cpu = cpu_between(cpu_before, cpu_after)
    busy = (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
    return recorder, Window(seconds, cpu, busy, machine_line())


async def _until_downloaded(clients: list[LoadClient], tasks: list[asyncio.Task[None]]) -> None:
    """Until some client holds a completed export: a worker has rendered (its first
    export loads fonts and the renderer), and each step of the mix can be taken."""
    deadline = time.monotonic() + WARMUP_TIMEOUT_SECONDS
    while not any(client.downloads for client in clients):
        _raise_failed(tasks)
        if time.monotonic() > deadline:
            raise RuntimeError(f"no export completed within {WARMUP_TIMEOUT_SECONDS:g} s")
        await asyncio.sleep(0.1)


def _cpu(cluster: Cluster) -> tuple[CpuSample, tuple[float, float]]:
    """Each group's CPU and run delay, this process's (the clients') too, and the
    machine's busy and total CPU seconds."""
    sample = cluster.cpu_sample()
    sample["client"] = {os.getpid(): (time.process_time(), process_wait_s(os.getpid()))}
    return sample, machine_cpu_s()


def _raise_failed(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        if task.done():
            task.result()  # a client's loop ended: its exception, here


# --- the table ------------------------------------------------------------------------------


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def print_table(
    cluster: Cluster, recorder: Recorder, window: Window, args: argparse.Namespace
) -> None:
    print(
        f"\n{cluster.description}\n{args.clients} clients, {cluster.name}: {args.seconds:g} s "
        f"recorded after {args.warmup:g} s of warm-up, {len(cluster.keys)} owners, "
        f"exports as {args.export_format}, at most {args.in_flight} unfinished jobs a client\n"
        f"{window.load} (at the end)\n"
    )
    header = f"{'route':28} {'answers':>8} {'errors':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    print(header)
    print("-" * len(header))
    total = 0
    for route in ROUTES:
        ordered = sorted(recorder.latencies_ms[route])
        total += len(ordered)
        if not ordered:
            print(f"{route:28} {0:>8} {recorder.errors[route]:>6}")
            continue
        print(
            f"{route:28} {len(ordered):>8} {recorder.errors[route]:>6} "
            f"{len(ordered) / window.seconds:>8.1f} {percentile(ordered, 0.5):>8.1f} "
            f"{percentile(ordered, 0.99):>8.1f}"
        )
    errors = sum(recorder.errors.values())
    print(f"{'all':28} {total:>8} {errors:>6} {total / window.seconds:>8.1f}")
    done = recorder.jobs_done
    print(
        f"\njobs finished: {done['artifact'] / window.seconds:.1f} artifacts/s, "
        f"{done['export'] / window.seconds:.1f} exports/s, {recorder.jobs_failed} failed; "
        f"downloaded {recorder.bytes_downloaded / window.seconds / 1024:.0f} KiB/s"
    )
    nodes = ", ".join(f"{node} {count}" for node, count in sorted(recorder.per_node.items()))
    print(f"answers by API node: {nodes}")
    if recorder.unrecorded_errors:
        print(f"errors in the warm-up: {recorder.unrecorded_errors}")
    cpu = "  ".join(
        f"{name} {used / window.seconds:.0%}/{waited / window.seconds:.0%}"
        for name, (used, waited) in window.cpu_s.items()
    )
    print(f"CPU/waiting for a CPU (100% = one core): {cpu}; machine busy {window.busy:.0%}")
    for example in recorder.examples:
        print(f"  error: {example}")


# --- main ------------------------------------------------------------------------------------


def setups(args: argparse.Namespace, tmp: Path) -> Iterator[AbstractContextManager[Cluster]]:
    if args.setup in ("sqlite", "both"):
        (tmp / "sqlite").mkdir()
        yield sqlite_cluster(tmp / "sqlite", args.owners)
    if args.setup in ("postgres", "both"):
        (tmp / "postgres").mkdir()
        yield postgres_cluster(
            tmp / "postgres",
            args.owners,
            api_nodes=args.api_nodes,
            worker_nodes=args.worker_nodes,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Mixed API traffic from a fixed number of clients for a fixed time.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--setup", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=30, help="recorded seconds")
    parser.add_argument("--warmup", type=float, default=5, help="unrecorded seconds first")
    parser.add_argument("--api-nodes", type=int, default=2, help="API processes (postgres)")
    parser.add_argument("--worker-nodes", type=int, default=2, help="workers (postgres)")
    parser.add_argument("--owners", type=int, default=4, help="keys; client i uses key i mod n")
    parser.add_argument("--in-flight", type=int, default=4, help="unfinished jobs per client")
    parser.add_argument("--export-format", default="pdf", choices=["pdf", "html", "png", "pptx"])
    parser.add_argument("--quick", action="store_true", help="--seconds 5 --warmup 2")
    args = parser.parse_args()
    if -(-args.clients // args.owners) * args.in_flight >= DEFAULT_ACTIVE_JOBS_CAP:
        parser.error("an owner's clients could reach the cap on active jobs: more --owners")
    if args.quick:
        args.seconds, args.warmup = 5, 2
    print(f"{machine_line()} (before)")
    with tempfile.TemporaryDirectory() as tmp:
        for setup in setups(args, Path(tmp)):
            with setup as cluster:
                recorder, window = asyncio.run(drive(cluster, args))
                print_table(cluster, recorder, window, args)


if __name__ == "__main__":
    main()
