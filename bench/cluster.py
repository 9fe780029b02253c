"""Running nxdocs as a deployment would, for benchmarks that drive it over HTTP.

- `sqlite_cluster(tmp, owners)`: one `nxdocs serve` (with the worker process it
  starts) on a fresh data dir and its SQLite file.
- `postgres_cluster(tmp, owners)`: a fresh PostgreSQL database migrated once
  (`nxdocs db upgrade`), `api_nodes` processes of `nxdocs serve --no-worker
  --no-migrate` and `worker_nodes` of `nxdocs worker --no-migrate`, each with a
  data dir of its own, and every file in a SeaweedFS bucket.

Both make `owners` keys with `nxdocs keys create --new-owner` and yield a
`Cluster`: the API nodes' base URLs, the keys, and the processes by group (for
their CPU time). Every node runs with the per-owner rate limit and the monthly
export limit out of the way, since the load, not the limiters, is what is
measured. Logs go to files under `tmp`; warnings and errors in them are
printed when the cluster stops.

SeaweedFS is started by `tests.support.seaweedfs.seaweedfs`, the context
manager the storage tests use: it picks a free port for each of its nine
listeners (the admin server's gRPC port is the admin port + 10000, whatever
its flag says), turns authentication on with one identity, waits until S3
answers it, and starts again on new ports if one was taken meanwhile. A copy
here would have to keep all of that in step; the import costs only pytest,
a development dependency the benchmarks already run with.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from tests.support.seaweedfs import WEED, SeaweedS3, seaweedfs

from bench.common import POSTGRES_ADMIN, free_port, fresh_postgres_database, serve_env

NXDOCS = str(Path(sys.executable).parent / "nxdocs")
ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 60.0
TICKS = os.sysconf("SC_CLK_TCK")
MONTHLY_EXPORTS = 1_000_000_000  # 0 would allow none


# group -> pid -> (CPU seconds, seconds runnable but waiting for a CPU) so far
CpuSample = dict[str, dict[int, tuple[float, float]]]


@dataclass
class Cluster:
    name: str
    description: str
    api_urls: list[str]
    keys: list[str]
    groups: dict[str, list[int]] = field(default_factory=dict)  # "api", "worker", ... -> pids
    database: str | None = None  # PostgreSQL: the database, whose server processes count

    def cpu_sample(self) -> CpuSample:
        """CPU seconds used so far by each process of each group. On PostgreSQL the
        group `postgres` is the server processes connected to this cluster's database
        now (the nodes' pooled connections; a process gone before the next sample
        loses its time since this one)."""
        groups = dict(self.groups)
        if self.database is not None:
            groups["postgres"] = database_backends(self.database)
        return {
            name: {pid: (process_cpu_s(pid), process_wait_s(pid)) for pid in pids}
            for name, pids in groups.items()
        }


def cpu_between(before: CpuSample, after: CpuSample) -> dict[str, tuple[float, float]]:
    """(CPU seconds, seconds waiting for a CPU) of each group between two samples; a
    process that started between them counts whole."""
    spent = {}
    for name, pids in after.items():
        earlier = before.get(name, {})
        cpu = wait = 0.0
        for pid, (used, waited) in pids.items():
            used_before, waited_before = earlier.get(pid, (0.0, 0.0))
            cpu += max(0.0, used - used_before)
            wait += max(0.0, waited - waited_before)
        spent[name] = (cpu, wait)
    return spent


def database_backends(database: str) -> list[int]:
    """The PostgreSQL server processes connected to `database`."""
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
        return [int(row[0]) for row in rows]


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def process_wait_s(pid: int) -> float:
    """Seconds the threads of one process have been runnable but not running, waiting
    for a CPU (the scheduler's run delay, /proc/<pid>/task/*/schedstat; 0 once gone)."""
    waited = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            waited += int((task / "schedstat").read_text().split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass  # gone, or a thread that ended while listed
    return waited / 1e9


def machine_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def children(pid: int) -> list[int]:
    """The direct children of `pid`."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


# --- the nodes ---------------------------------------------------------------------------


def node_env(database_url: str, data_dir: Path, s3: dict[str, str] | None = None) -> dict[str, str]:
    """A node's environment: `serve_env` (no developer NXDOCS_* settings, rate limit
    lifted), its own data dir, no monthly export limit, and the bucket if any. No AWS
    setting of this machine reaches it: only the given keys, no profile, no metadata."""
    env = {k: v for k, v in serve_env(database_url).items() if not k.startswith("AWS_")}
    env.update(
        NXDOCS_DATA_DIR=str(data_dir),
        NXDOCS_MONTHLY_EXPORT_LIMIT=str(MONTHLY_EXPORTS),
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(s3 or {})
    return env


def s3_env(server: SeaweedS3, bucket: str) -> dict[str, str]:
    return {
        "NXDOCS_S3_BUCKET": bucket,
        "NXDOCS_S3_ENDPOINT_URL": server.endpoint_url,
        "NXDOCS_S3_REGION": server.region,
        **server.aws_environment(),
    }


def run_cli(args: list[str], env: dict[str, str]) -> str:
    """`nxdocs <args>` to the end; its standard output."""
    done = subprocess.run(
        [NXDOCS, *args], env=env, capture_output=True, text=True, cwd=ROOT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"nxdocs {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done.stdout


def create_keys(env: dict[str, str], owners: int) -> list[str]:
    """One key of a new owner each, by `nxdocs keys create` (the secret is its last line)."""
    return [
        run_cli(["keys", "create", "--name", f"load{index}", "--new-owner"], env).split()[-1]
        for index in range(owners)
    ]


@contextmanager
def node(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """One nxdocs process, its output to `log`; SIGTERM when the block ends, and the
    warnings and errors of its log printed."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=sink, cwd=ROOT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        report_log(log)


def report_log(log: Path) -> None:
    lines = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if any(word in line for word in ("WARNING", "ERROR", "Traceback", "Error"))
    ]
    if lines:
        print(f"  {log.name}: {len(lines)} warning/error lines; the first and the last:")
        print("    " + lines[0] + ("\n    " + lines[-1] if len(lines) > 1 else ""))


def until_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until `GET /readyz` answers 200 (the database reached and, for `serve` with
    a worker, its worker process running)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise RuntimeError(f"{base} was not ready:\n{tail}")


def until_logged(log: Path, process: subprocess.Popen[bytes], text: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
            raise RuntimeError(f"{log.name}: no {text!r}:\n{tail}")
        time.sleep(0.05)


# --- the two setups ------------------------------------------------------------------------


@contextmanager
def sqlite_cluster(tmp: Path, owners: int) -> Iterator[Cluster]:
    """One `nxdocs serve` and its worker on a fresh SQLite file."""
    data_dir = tmp / "data"
    env = node_env(f"sqlite:///{data_dir}/nxdocs.db", data_dir)
    data_dir.mkdir()
    keys = create_keys(env, owners)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "serve.log"
    with node([NXDOCS, "serve", "--port", str(port)], env, log) as serve:
        until_ready(base, serve, log)
        yield Cluster(
            "sqlite",
            "SQLite, 1 `nxdocs serve` (API + its worker process), files on local disk",
            [base],
            keys,
            {"api": [serve.pid], "worker": children(serve.pid)},
        )


@contextmanager
def postgres_cluster(
    tmp: Path, owners: int, *, api_nodes: int = 2, worker_nodes: int = 2
) -> Iterator[Cluster]:
    """PostgreSQL + SeaweedFS: `api_nodes` API processes, `worker_nodes` workers."""
    with ExitStack() as stack:
        server = stack.enter_context(seaweedfs(tmp / "seaweedfs"))
        s3 = s3_env(server, server.create_bucket())
        database_url = stack.enter_context(fresh_postgres_database())
        envs = [
            node_env(database_url, tmp / f"node{index}", s3)
            for index in range(api_nodes + worker_nodes)
        ]
        for env in envs:
            Path(env["NXDOCS_DATA_DIR"]).mkdir()
        run_cli(["db", "upgrade"], envs[0])
        keys = create_keys(envs[0], owners)
        apis, urls = [], []
        for index, env in enumerate(envs[:api_nodes]):
            port = free_port()
            log = tmp / f"api{index}.log"
            command = [NXDOCS, "serve", "--no-worker", "--no-migrate", "--port", str(port)]
            apis.append((stack.enter_context(node(command, env, log)), log))
            urls.append(f"http://127.0.0.1:{port}")
        workers = []
        for index, env in enumerate(envs[api_nodes:]):
            log = tmp / f"worker{index}.log"
            worker_env = {**env, "NXDOCS_LOG_LEVEL": "info"}  # to see that it started
            workers.append(
                stack.enter_context(node([NXDOCS, "worker", "--no-migrate"], worker_env, log))
            )
            until_logged(log, workers[-1], " started, concurrency ")
        for (process, log), url in zip(apis, urls, strict=True):
            until_ready(url, process, log)
        yield Cluster(
            "postgres",
            f"PostgreSQL + SeaweedFS, {api_nodes} `nxdocs serve --no-worker` + "
            f"{worker_nodes} `nxdocs worker`, files in an S3 bucket",
            urls,
            keys,
            {
                "api": [process.pid for process, _ in apis],
                "worker": [process.pid for process in workers],
                "seaweedfs": [pid for pid in children(os.getpid()) if _is_weed(pid)],
            },
            database_url.rsplit("/", 1)[1],
        )


def _is_weed(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/exe").resolve() == WEED.resolve()
    except OSError:
        return False
