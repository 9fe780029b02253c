"""Waiting benchmark: a job's completion in a worker process to a waiting client's answer.

    .venv/bin/python -m bench.wait [--rounds 40] [--waiters 1000] [--per-job 1]
                                   [--modes long-poll sse] [--backend sqlite|postgres|both]

For each backend, on a fresh database: `nxdocs serve --no-worker` and one
worker process (`bench.timed_worker`: the `nxdocs worker` code path, which
also notes when each completion has committed). Jobs are real artifact creates
(`POST /v1/artifacts/async` with a one-slide Markdown `content`) that this
worker runs. For each way of waiting (`long-poll`: `GET /v1/jobs/{id}?wait=60`;
`sse`: `GET /v1/jobs/{id}/events`) and each number of waiters (1, `--waiters`),
rounds of:

1. the worker, idle, is paused (SIGSTOP);
2. the round's jobs are created, and the waiters open, each on its own
   connection (`--per-job` waiters per job; 1 by default, so 1,000 jobs). An
   SSE waiter is open once its first event (the processing state) is in. A
   long-poll gets no answer while it waits, so the round goes on once the
   API's poll cache (`/metrics`) holds every job of the round: a long-poll
   registers its wait in the same step as its first read caches the job;
3. after a random 0-100 ms (so that completions fall at any phase of the
   API's 50 ms SQLite file watch, not one the rounds' rhythm fixes), the
   worker is resumed (SIGCONT) and runs the jobs, `NXDOCS_WORKER_CONCURRENCY`
   (4 by default, 3 of them for one owner) at a time;
4. each waiter notes `time.time()` when the finished state is in (the whole
   long-poll body; the SSE event whose job is no longer processing).

Latency = that time - the time the worker's completion committed (the worker's
`time.time()` once `JobStore.complete` returned; same machine, same clock). The
`updated_at` column gives the same measured from the finished body's
`updated_at`, as a client could: `complete` stamps it before its hook, its
notification and its commit (truncated to the millisecond), so it reads
higher by about the `commit` column.

The client is one asyncio process writing raw HTTP/1.1 on plain sockets (no
HTTP library: a few tens of microseconds a response). Its garbage collector is
frozen and off during rounds: a full collection of this process's heap stalled
its loop for up to 1.7 s on the loaded 2-CPU machine, which is not the
server's latency. The CPU columns are each process's CPU time over the rounds
(resume to last answer) divided by their wall time; `busy` is the whole
machine's, from /proc/stat, other processes included.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
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

from bench.common import (
    add_backend_option,
    create_artifact_jobs,
    free_port,
    on_each_backend,
    serve_env,
    wait_for_http,
)
from bench.timed_worker import COMPLETIONS_VARIABLE
from nxdocs.settings import Settings
from nxdocs.system import build_system

NXDOCS = str(Path(sys.executable).parent / "nxdocs")
ROOT = Path(__file__).resolve().parent.parent
WORKER = [sys.executable, "-m", "bench.timed_worker"]
CONTENT = "# Waiting\n\nOne slide, made by a worker while a client waits."
MODES = ("long-poll", "sse")
WAIT_SECONDS = 60
ROUND_TIMEOUT = 600.0
TARGET_P50_MS = 20.0
TARGET_P99_MS = 100.0
PHASE_JITTER_SECONDS = 0.1  # two periods of the SQLite watch (50 ms)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Answer:
    job_id: str
    received: float  # time.time() when the finished state was in
    job: dict[str, object]
    rewaits: int = 0  # long-polls that timed out and were sent again


@dataclass
class Row:
    backend: str
    mode: str
    waiters: int
    per_job: int
    latencies_ms: list[float] = field(default_factory=list)
    stamp_latencies_ms: list[float] = field(default_factory=list)
    complete_ms: list[float] = field(default_factory=list)  # JobStore.complete, call to return
    wall_s: float = 0.0
    api_cpu_s: float = 0.0
    worker_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    machine_busy_s: float = 0.0
    machine_total_s: float = 0.0
    spread_s: float = 0.0  # first to last completion of a round, summed over rounds
    failed: int = 0
    rewaits: int = 0


# --- the client: raw HTTP/1.1 on asyncio streams -------------------------------------


class Waiter:
    """One waiting client on its own connection."""

    def __init__(self, port: int, key: str, job_id: str, mode: str) -> None:
        self.port = port
        self.job_id = job_id
        self.mode = mode
        path = (
            f"/v1/jobs/{job_id}?wait={WAIT_SECONDS}"
            if mode == "long-poll"
            else f"/v1/jobs/{job_id}/events"
        )
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {key}\r\nAccept: */*\r\n\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.stream: _EventStream | None = None
        self.rewaits = 0

    async def open(self) -> None:
        """Connect and send the request; for SSE, also read the first (processing) event."""
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(self.request)
        await self.writer.drain()
        if self.mode == "sse":
            self.stream = await _EventStream.start(self.reader)
            _, job = await self.stream.next_event()
            if job.get("status") != "processing":
                raise RuntimeError(f"{self.job_id} finished before the round began: {job}")

    async def answer(self) -> Answer:
        try:
            if self.mode == "sse":
                return await self._sse_answer()
            return await self._long_poll_answer()
        finally:
            if self.writer is not None:
                self.writer.close()

    async def _long_poll_answer(self) -> Answer:
        while True:
            assert self.reader is not None
            assert self.writer is not None
            status, headers = _head(await self.reader.readuntil(b"\r\n\r\n"))
            body = await self.reader.readexactly(int(headers[b"content-length"]))
            received = time.time()
            if status != 200:
                raise RuntimeError(f"{self.job_id}: HTTP {status} {body[:200]!r}")
            job = orjson.loads(body)
            if job["status"] != "processing":
                return Answer(self.job_id, received, job, self.rewaits)
            self.rewaits += 1  # the wait ran out: wait again on the same connection
            self.writer.write(self.request)
            await self.writer.drain()

    async def _sse_answer(self) -> Answer:
        assert self.stream is not None
        while True:
            received, job = await self.stream.next_event()
            if job.get("status") != "processing":
                return Answer(self.job_id, received, job)


class _EventStream:
    """`text/event-stream` over a chunked (or plain) HTTP/1.1 body."""

    def __init__(self, reader: asyncio.StreamReader, chunked: bool) -> None:
        self.reader = reader
        self.chunked = chunked
        self.raw = b""  # bytes read, not yet de-chunked
        self.text = b""  # de-chunked, not yet split into events

    @classmethod
    async def start(cls, reader: asyncio.StreamReader) -> _EventStream:
        status, headers = _head(await reader.readuntil(b"\r\n\r\n"))
        if status != 200:
            raise RuntimeError(f"event stream: HTTP {status}")
        return cls(reader, headers.get(b"transfer-encoding", b"").lower() == b"chunked")

    async def next_event(self) -> tuple[float, dict[str, object]]:
        """(time.time() when its last byte was read, the job it carries)."""
        received = time.time()
        while True:
            job = self._take_event()
            if job is not None:
                return received, job
            data = await self.reader.read(65536)
            received = time.time()
            if not data:
                raise RuntimeError("event stream ended before the job finished")
            self._feed(data)

    def _feed(self, data: bytes) -> None:
        if not self.chunked:
            self.text += data
            return
        self.raw += data
        while True:
            line_end = self.raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(self.raw[:line_end].split(b";")[0], 16)
            if len(self.raw) < line_end + 2 + size + 2:
                return
            self.text += self.raw[line_end + 2 : line_end + 2 + size]
            self.raw = self.raw[line_end + 2 + size + 2 :]

    def _take_event(self) -> dict[str, object] | None:
        while True:
            text = self.text.replace(b"\r\n", b"\n")
            end = text.find(b"\n\n")
            if end < 0:
                self.text = text
                return None
            event, self.text = text[:end], text[end + 2 :]
            data = [line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")]
            if data:  # else a keep-alive comment
                job: dict[str, object] = orjson.loads(b"\n".join(data))
                return job


def _head(head: bytes) -> tuple[int, dict[bytes, bytes]]:
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers


# --- processes: the API, the worker, CPU time -------------------------------------


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


@contextmanager
def timed_worker(env: dict[str, str], logs: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """One worker process, started and idle; stopped with SIGTERM."""
    completions = logs / "completions.txt"
    completions.touch()
    log = logs / "worker.log"
    worker_env = {**env, "NXDOCS_LOG_LEVEL": "info", COMPLETIONS_VARIABLE: str(completions)}
    with log.open("wb") as sink:
        process = subprocess.Popen(WORKER, cwd=ROOT, env=worker_env, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 60
        while " started, concurrency " not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the worker did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.05)
        time.sleep(0.5)  # its first claims, on an empty queue
        yield process, completions
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def api_server(port: int, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`nxdocs serve --no-worker`, its output to `log` (a pipe nobody reads would
    stall it once full), which is printed if it holds anything."""
    command = [NXDOCS, "serve", "--no-worker", "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        lines = [line for line in log.read_text().splitlines() if "listening on" not in line]
        if lines:
            print("  API output:\n    " + "\n    ".join(lines[-20:]))


def read_completions(path: Path) -> dict[str, tuple[float, float]]:
    """Job id -> (time `JobStore.complete` was called, time it returned, committed)."""
    completions = {}
    for line in path.read_text().splitlines():
        job_id, called, committed = line.split()
        completions[job_id] = (float(called), float(committed))
    return completions


def parse_timestamp_ms(text: str) -> float:
    """`2026-01-15T10:30:00.123Z` -> Unix milliseconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


# --- one round --------------------------------------------------------------------


@dataclass
class Servers:
    port: int
    key: str
    api: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]
    completions: Path


async def cache_entries(client: httpx.AsyncClient) -> int:
    """The API's `nxdocs_poll_cache_entries` gauge."""
    text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("nxdocs_poll_cache_entries "):
            return int(float(line.split()[1]))
    raise RuntimeError("no nxdocs_poll_cache_entries in /metrics")


async def until_held(client: httpx.AsyncClient, entries: int, waits: int) -> None:
    """Until the API holds every long-poll just written. No answer says so, but a
    long-poll registers its wait in the same step as its first read caches the job,
    so once the poll cache holds every job of the round, every wait is registered
    (nothing else reads or writes jobs meanwhile: the worker is paused). Gives up,
    with a warning, after 5 s + 10 ms per wait."""
    deadline = time.monotonic() + 5 + 0.01 * waits
    while await cache_entries(client) < entries:
        if time.monotonic() > deadline:
            print(f"  warning: the poll cache never reached {entries} entries; going on")
            return
        await asyncio.sleep(0.02)


async def open_waits(servers: Servers, client: httpx.AsyncClient, row: Row) -> list[Waiter]:
    """The round's jobs, made while the worker is paused, and a waiter open on each."""
    job_ids = await create_artifact_jobs(client, row.waiters // row.per_job, CONTENT)
    waiters = [
        Waiter(servers.port, servers.key, job_id, row.mode)
        for job_id in job_ids
        for _ in range(row.per_job)
    ]
    # A poll of one job first: on SQLite it drops cache entries that commits since
    # made stale, so that the count below grows only by the round's jobs.
    (await client.get(f"/v1/jobs/{job_ids[0]}")).raise_for_status()
    cached = await cache_entries(client)
    await asyncio.gather(*(waiter.open() for waiter in waiters))
    if row.mode == "long-poll":
        await until_held(client, cached + len(job_ids) - 1, len(waiters))
    return waiters


async def one_round(servers: Servers, client: httpx.AsyncClient, row: Row) -> None:
    worker = servers.worker
    worker.send_signal(signal.SIGSTOP)
    try:
        waiters = await open_waits(servers, client, row)
        # The rounds' own rhythm would otherwise fix when the worker resumes (and so
        # completes) relative to the API's periodic SQLite watch: a random phase.
        await asyncio.sleep(random.uniform(0, PHASE_JITTER_SECONDS))
    except BaseException:
        worker.send_signal(signal.SIGCONT)
        raise
    api_cpu, worker_cpu = process_cpu_s(servers.api.pid), process_cpu_s(worker.pid)
    client_cpu, (busy, total) = time.process_time(), machine_cpu_s()
    started = time.time()
    worker.send_signal(signal.SIGCONT)
    results = await asyncio.wait_for(
        asyncio.gather(*(waiter.answer() for waiter in waiters), return_exceptions=True),
        ROUND_TIMEOUT,
    )
    row.wall_s += time.time() - started
    row.api_cpu_s += process_cpu_s(servers.api.pid) - api_cpu
    row.worker_cpu_s += process_cpu_s(worker.pid) - worker_cpu
    row.client_cpu_s += time.process_time() - client_cpu
    busy_after, total_after = machine_cpu_s()
    row.machine_busy_s += busy_after - busy
    row.machine_total_s += total_after - total
    await asyncio.sleep(0.3)  # the worker's last writes, before it is paused again
    await tally(servers, row, results)


async def tally(servers: Servers, row: Row, results: list[Answer | BaseException]) -> None:
    answered = {result.job_id for result in results if isinstance(result, Answer)}
    completions = read_completions(servers.completions)
    deadline = time.monotonic() + 10
    while not answered <= completions.keys() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # an answer can beat the worker's note of its commit
        completions = read_completions(servers.completions)
    committed_times = []
    for result in results:
        if isinstance(result, BaseException):
            print(f"  a waiter failed: {result!r}")
            row.failed += 1
            continue
        completion = completions.get(result.job_id)
        if result.job.get("status") != "completed" or completion is None:
            print(f"  {result.job_id}: {result.job.get('status')}, commit noted: {completion}")
            row.failed += 1
            continue
        called, committed = completion
        committed_times.append(committed)
        row.rewaits += result.rewaits
        row.complete_ms.append((committed - called) * 1000)
        row.latencies_ms.append((result.received - committed) * 1000)
        stamp = parse_timestamp_ms(str(result.job["updated_at"]))
        row.stamp_latencies_ms.append(result.received * 1000 - stamp)
    if committed_times:
        row.spread_s += max(committed_times) - min(committed_times)


async def run_rows(servers: Servers, rows: list[Row], args: argparse.Namespace) -> None:
    # The client's own garbage collections are not the server's latency: a full one
    # over this process's heap (nxdocs imported) stalled the loop for 0.3-1.7 s on the
    # loaded 2-CPU machine. Everything alive now is frozen out of collection, and no
    # collection runs during a round (`one_round`).
    gc.collect()
    gc.freeze()
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{servers.port}",
        headers={"Authorization": f"Bearer {servers.key}"},
        timeout=60,
    ) as client:
        for row in rows:
            rounds = args.rounds if row.waiters == 1 else args.many_rounds
            for _ in range(rounds):
                gc.disable()
                try:
                    await one_round(servers, client, row)
                finally:
                    gc.enable()
            print(f"  {row.backend} {row.mode} {row.waiters} waiters: {_summary(row)}", flush=True)


# --- per backend, and the table ----------------------------------------------------

RESULTS: list[Row] = []


def bench_backend(name: str, database_url: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        system = build_system(Settings(database_url=database_url, data_dir=data_dir))
        key = system.keys.create("bench").secret
        system.close()
        port = free_port()
        env = serve_env(database_url)
        env.update(
            NXDOCS_DATA_DIR=str(data_dir),
            NXDOCS_MAX_WAITS_PER_OWNER=str(max(100, 2 * args.waiters)),
            NXDOCS_MAX_WAITS=str(max(10_000, 2 * args.waiters)),
            NXDOCS_MAX_ACTIVE_JOBS_PER_OWNER="0",
        )
        with ExitStack() as stack:
            api = stack.enter_context(api_server(port, env, Path(tmp) / "api.log"))
            wait_for_http(f"http://127.0.0.1:{port}/health", timeout=120)
            worker, completions = stack.enter_context(timed_worker(env, Path(tmp)))
            servers = Servers(port, key, api, worker, completions)
            rows = [Row(name, mode, 1, 1) for mode in args.modes]
            rows += [Row(name, mode, args.waiters, args.per_job) for mode in args.modes]
            asyncio.run(run_rows(servers, rows, args))
            RESULTS.extend(rows)


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _summary(row: Row) -> str:
    if not row.latencies_ms:
        return "no answers"
    ordered = sorted(row.latencies_ms)
    return (
        f"p50 {percentile(ordered, 0.5):.1f} ms, p99 {percentile(ordered, 0.99):.1f} ms, "
        f"{len(ordered)} answers"
    )


def verdict(row: Row) -> str:
    if not row.latencies_ms or row.failed:
        return "MISSED (failures)"
    ordered = sorted(row.latencies_ms)
    missed = [
        label
        for label, value, target in (
            ("p50", percentile(ordered, 0.5), TARGET_P50_MS),
            ("p99", percentile(ordered, 0.99), TARGET_P99_MS),
        )
        if value >= target
    ]
    return "met" if not missed else f"MISSED ({' and '.join(missed)})"


def print_table(rows: list[Row], args: argparse.Namespace, load: str) -> None:
    many = f"{args.waiters} waiters: {args.many_rounds} round(s)"
    many += (
        " of one job each"
        if args.per_job == 1
        else f" of {args.waiters // args.per_job} jobs, {args.per_job} waiters each"
    )
    print(
        f"\nJob completion (worker commit) to the waiting client's answer; "
        f"1 waiter: {args.rounds} rounds; {many}.\n"
        f"{os.cpu_count()} CPUs, load average {load} before the run. "
        f"Target: p50 < {TARGET_P50_MS:.0f} ms and p99 < {TARGET_P99_MS:.0f} ms.\n"
    )
    header = (
        f"{'backend':9} {'mode':9} {'waiters':>7} {'answers':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'updated_at':>11} {'commit':>6} {'api':>5} {'worker':>6} "
        f"{'client':>6} {'busy':>5}  target"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        if not row.latencies_ms:
            print(f"{row.backend:9} {row.mode:9} {row.waiters:>7} no answers, {row.failed} failed")
            continue
        ordered, stamped = sorted(row.latencies_ms), sorted(row.stamp_latencies_ms)
        stamp = f"{percentile(stamped, 0.5):.0f}/{percentile(stamped, 0.99):.0f}"
        wall = row.wall_s or 1.0
        print(
            f"{row.backend:9} {row.mode:9} {row.waiters:>7} {len(ordered):>7} "
            f"{percentile(ordered, 0.5):>7.1f} {percentile(ordered, 0.99):>7.1f} "
            f"{ordered[-1]:>7.1f} {stamp:>11} {percentile(sorted(row.complete_ms), 0.5):>6.1f} "
            f"{row.api_cpu_s / wall:>5.0%} {row.worker_cpu_s / wall:>6.0%} "
            f"{row.client_cpu_s / wall:>6.0%} "
            f"{row.machine_busy_s / (row.machine_total_s or 1.0):>5.0%}  {verdict(row)}"
        )
    for row in rows:
        if row.waiters > 1 and row.latencies_ms:
            rounds = args.many_rounds
            print(
                f"{row.backend} {row.mode}, {row.waiters} waiters: the completions of a round "
                f"spread over {row.spread_s / rounds:.1f} s "
                f"({len(row.latencies_ms) / row.per_job / (row.spread_s or 1.0):.0f} jobs/s); "
                f"{row.rewaits} long-polls timed out and were sent again; {row.failed} failed"
            )
    print(
        "\nupdated_at: p50/p99 ms measured from the body's `updated_at` instead; commit: "
        "median ms of the\nworker's `JobStore.complete` call, which stamps `updated_at` "
        "first and commits last.\napi / worker / client: that process's CPU time over the "
        "rounds' wall time (100% = one core);\nbusy: the whole machine's share of all cores "
        "in that time (other processes included)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Completion to waiting client, long-poll and SSE.")
    parser.add_argument("--rounds", type=int, default=40, help="rounds of one waiter")
    parser.add_argument("--waiters", type=int, default=1000, help="concurrent waiters")
    parser.add_argument("--per-job", type=int, default=1, help="waiters per job of --waiters")
    parser.add_argument("--many-rounds", type=int, default=1, help="rounds of --waiters")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    add_backend_option(parser)
    args = parser.parse_args()
    if args.waiters % args.per_job:
        parser.error("--waiters must be a multiple of --per-job")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    on_each_backend(args, bench_backend)
    print_table(RESULTS, args, load)


if __name__ == "__main__":
    main()
