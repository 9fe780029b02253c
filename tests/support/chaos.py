"""The chaos test's machinery (`tests/acceptance/test_chaos.py`): its plan, a database
of its own, API processes killed and started again on their port, the load, and the chaos.

`Load` submits the jobs over HTTP to both API nodes, paced over the plan's
seconds. Every create carries an Idempotency-Key and is sent again (same key,
the other node) through refused connections, 503s and 409s, as a careful
client would, so "acknowledged" means a 2xx and a create sent twice never
makes two jobs. `Chaos` runs in a thread: every few seconds it SIGKILLs a
random worker and starts a new one on the same node (data directory), and at
set moments it kills one API process and starts it again and restarts the
PostgreSQL cluster. Right after a kill it reads which jobs the dead worker
held; `RecoveryWatch` then times how long each stays held by the dead worker,
that is until a live worker's reaper gives it back to the queue.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from nxdocs.db.schema import jobs, leaders
from nxdocs.jobs.leader import MAINTENANCE
from tests.support import postgres_cluster
from tests.support.exports import FORMATS
from tests.support.process import NXDOCS
from tests.support.waiting import wait_until
from tests.support.worker_processes import EXIT_DEADLINE, WorkerProcess, WorkerProcesses

T = TypeVar("T")

WORKER = (NXDOCS, "worker", "--no-migrate")
SUBMITTERS = 16
"""Creates in flight at once: some wait out the key of a create the API kill cut off."""
CREATE_DEADLINE = 90.0
"""How long a client keeps sending one create again. A create whose API process was
killed mid-request holds its key for `sync_wait_seconds` + 30 s (409 until then)."""
WORKER_START_DEADLINE = 60.0
SEED_ARTIFACTS = 8
"""The first jobs are artifacts, so that exports have something to export."""


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class ChaosPlan:
    """What the run does; each field has a CHAOS_* variable for a longer local run."""

    jobs: int = 1000
    seconds: float = 40.0
    """Submissions are spread over this long (25 jobs a second, which the workers keep up
    with); the chaos goes on until every job is done."""
    kill_every: float = 3.0
    """Mean seconds between two worker kills (each 0.5x-1.5x of it)."""
    lease_seconds: float = 5.0
    export_share: float = 0.2
    restart_postgres: bool = True
    seed: int = 0

    @classmethod
    def from_environment(cls) -> ChaosPlan:
        return cls(
            jobs=int(_env_float("CHAOS_JOBS", cls.jobs)),
            seconds=_env_float("CHAOS_SECONDS", cls.seconds),
            kill_every=_env_float("CHAOS_KILL_EVERY", cls.kill_every),
            lease_seconds=_env_float("CHAOS_LEASE_SECONDS", cls.lease_seconds),
            export_share=_env_float("CHAOS_EXPORT_SHARE", cls.export_share),
            restart_postgres=os.environ.get("CHAOS_RESTART_POSTGRES", "1") != "0",
            seed=int(os.environ.get("CHAOS_SEED") or random.randrange(1_000_000)),
        )


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new database on the cluster of `server_url`, dropped (connections and all) at the end."""
    name = f"chaos_{uuid.uuid4().hex[:12]}"
    admin = make_url(server_url).set(drivername="postgresql", database="postgres")
    admin_url = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- API processes ---------------------------------------------------------------


class ApiNode:
    """`nxdocs serve --no-worker --no-migrate` on a port of its own, which it keeps
    across restarts; each start's output goes to a new file."""

    def __init__(self, name: str, tmp_path: Path, env: dict[str, str], port: int) -> None:
        self.name = name
        self.tmp_path = tmp_path
        self.env = env
        self.port = port
        self.logs: list[Path] = []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.tmp_path / f"{self.name}.{len(self.logs)}.log"
        self.logs.append(log)
        command = [NXDOCS, "serve", "--no-worker", "--no-migrate", "--port", str(self.port)]
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                command, env=self.env, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        process = self.process
        assert process is not None
        wait_until(lambda: process.poll() is not None or self._answers(), timeout, 0.1)
        assert process.poll() is None, f"{self.name} exited\n{self.tail()}"

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=EXIT_DEADLINE)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL past the deadline; the exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=EXIT_DEADLINE)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} ignored SIGTERM\n{self.tail()}") from None

    def text(self) -> str:
        return "".join(log.read_text(errors="replace") for log in self.logs if log.exists())

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.text().splitlines()[-lines:])


# -- the load --------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    number: int
    owner: int
    node: int
    format: str | None
    """None: an artifact create; else an export of an earlier artifact of the same owner."""

    @property
    def title(self) -> str:
        return f"Chaos {self.number}"

    @property
    def kind(self) -> str:
        return "document" if self.number % 4 == 3 else "presentation"

    @property
    def pages(self) -> int:
        """A presentation's slides split on `---`; a document's page holds it all."""
        return 2 if self.kind == "presentation" else 1

    def artifact_body(self) -> dict[str, str]:
        content = f"# {self.title}\n\nOwner {self.owner}\n\n---\n\n## Step two\n\n- one\n- two"
        return {"type": self.kind, "content": content}


@dataclass(frozen=True)
class Acknowledged:
    """A create answered with a 2xx: its job and resource (for an export, also its artifact)."""

    planned: Planned
    job_id: str
    resource_id: str
    artifact: Acknowledged | None = None

    @property
    def title(self) -> str:
        """The title on the first page of the artifact (exported)."""
        return (self.artifact or self).planned.title


def plan_jobs(plan: ChaosPlan, owners: int, nodes: int) -> list[Planned]:
    """`plan.jobs` creates, alternating owners and nodes; exports at random places, their
    formats in turn."""
    rng = random.Random(plan.seed)
    exports = min(round(plan.jobs * plan.export_share), max(0, plan.jobs - SEED_ARTIFACTS))
    places = sorted(rng.sample(range(SEED_ARTIFACTS, plan.jobs), exports))
    formats = {number: FORMATS[i % len(FORMATS)] for i, number in enumerate(places)}
    return [Planned(n, n % owners, (n // owners) % nodes, formats.get(n)) for n in range(plan.jobs)]


@dataclass
class Load:
    """Submits the planned creates through the API nodes; what was acknowledged, and how."""

    plan: ChaosPlan
    base_urls: list[str]
    keys: list[str]
    acknowledged: list[Acknowledged] = field(default_factory=list)
    unacknowledged: list[Planned] = field(default_factory=list)
    retried: Counter[str] = field(default_factory=Counter)
    """Answers (status and error code, or the transport error) that made a create go again."""
    refused: list[str] = field(default_factory=list)
    """Answers a create is not sent again after (a 4xx but 409 CONFLICT and 429): a bug."""
    abort: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        items = plan_jobs(self.plan, len(self.keys), len(self.base_urls))
        interval = self.plan.seconds / max(1, len(items))
        started = time.monotonic()
        clients = [httpx.Client(base_url=url, timeout=30) for url in self.base_urls]
        try:
            with ThreadPoolExecutor(SUBMITTERS, thread_name_prefix="load") as pool:
                due = [started + item.number * interval for item in items]
                list(pool.map(self._submit, items, due, [clients] * len(items)))
        finally:
            for client in clients:
                client.close()

    def artifacts(self, owner: int) -> list[Acknowledged]:
        with self._lock:
            return [a for a in self.acknowledged if a.planned.owner == owner and not a.artifact]

    def _submit(self, item: Planned, due: float, clients: list[httpx.Client]) -> None:
        if self.abort.wait(max(0.0, due - time.monotonic())):
            return
        artifact = None
        if item.format is None:
            path, body = "/v1/artifacts/async", item.artifact_body()
        else:
            choices = wait_until(lambda: self.artifacts(item.owner), timeout=CREATE_DEADLINE)
            artifact = random.Random(self.plan.seed + item.number).choice(choices)
            path = "/v1/exports/async"
            body = {"artifact_id": artifact.resource_id, "format": item.format}
        headers = {
            "Authorization": f"Bearer {self.keys[item.owner]}",
            "Idempotency-Key": f"chaos-{item.number}-{uuid.uuid4().hex}",
        }
        deadline = time.monotonic() + CREATE_DEADLINE
        node = item.node
        while not self.abort.is_set():
            outcome = self._send(clients[node], path, body, headers)
            if isinstance(outcome, dict):
                created = Acknowledged(item, outcome["job_id"], outcome["id"], artifact)
                with self._lock:
                    self.acknowledged.append(created)
                return
            if outcome.startswith("4") and not outcome.startswith(("409 CONFLICT", "429")):
                with self._lock:
                    self.refused.append(f"{item} {outcome}")
                return
            with self._lock:
                self.retried[outcome] += 1
            if time.monotonic() > deadline:
                with self._lock:
                    self.unacknowledged.append(item)
                return
            node = (node + 1) % len(clients)
            self.abort.wait(0.2)

    @staticmethod
    def _send(
        client: httpx.Client, path: str, body: dict[str, str], headers: dict[str, str]
    ) -> dict[str, str] | str:
        """The created body on a 2xx; else what came back ("503 SERVICE_UNAVAILABLE", ...)."""
        try:
            response = client.post(path, json=body, headers=headers)
        except httpx.TransportError as exc:
            return type(exc).__name__
        if response.is_success:
            created: dict[str, str] = response.json()
            return created
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = response.text[:80]
        return f"{response.status_code} {code}"


# -- the chaos -------------------------------------------------------------------


@dataclass
class Kill:
    """One SIGKILLed worker and the jobs it held; when each stopped being held by it."""

    worker: str
    pid: int
    at: float
    """time.monotonic() just before the signal."""
    held: list[str]
    led: bool
    """Whether the worker held the maintenance role, whose rounds recover expired leases."""
    released: dict[str, float] = field(default_factory=dict)
    """Seconds from the kill until the job was no longer the dead worker's."""


@dataclass(frozen=True)
class Outage:
    what: str
    started: float
    ended: float

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def held_by(reads: sa.Engine, pid: int) -> tuple[list[str], bool]:
    """The jobs a worker of this pid holds (worker ids are `host:pid:random`), and whether
    it holds the maintenance role."""
    mine = f"%:{pid}:%"
    running = sa.select(jobs.c.id).where(jobs.c.state == "running", jobs.c.worker_id.like(mine))
    role = sa.select(leaders.c.holder).where(leaders.c.role == MAINTENANCE)
    with reads.connect() as connection:
        held = list(connection.execute(running).scalars())
        holder = connection.execute(role).scalar_one_or_none()
    return held, holder is not None and f":{pid}:" in holder


def retried_read(read: Callable[[], T], timeout: float = 60.0) -> T:
    """`read()`, tried again while the database does not answer."""

    def attempt() -> tuple[T] | None:
        try:
            return (read(),)
        except sa.exc.DBAPIError:
            return None

    result = wait_until(attempt, timeout=timeout, interval=0.1)
    assert result is not None
    return result[0]


class RecoveryWatch:
    """Times, for every job a kill orphaned, how long it stayed held by the dead worker."""

    def __init__(self, reads: sa.Engine) -> None:
        self.reads = reads
        self._pending: list[tuple[Kill, str]] = []
        self._lock = threading.Lock()

    def add(self, kill: Kill) -> None:
        with self._lock:
            self._pending.extend((kill, job_id) for job_id in kill.held)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(0.05):
            with self._lock:
                pending = list(self._pending)
            if not pending:
                continue
            try:
                with self.reads.connect() as connection:
                    rows = connection.execute(
                        sa.select(jobs.c.id, jobs.c.state, jobs.c.worker_id).where(
                            jobs.c.id.in_({job_id for _, job_id in pending})
                        )
                    ).all()
            except sa.exc.DBAPIError:
                continue  # the database is restarting: the next round sees it
            now = time.monotonic()
            holders = {row.id: row.worker_id if row.state == "running" else None for row in rows}
            released = [
                (kill, job_id)
                for kill, job_id in pending
                if f":{kill.pid}:" not in (holders.get(job_id) or "")
            ]
            for kill, job_id in released:
                kill.released[job_id] = now - kill.at
            with self._lock:
                self._pending = [p for p in self._pending if p not in released]


class Chaos:
    """Worker kills every few seconds (each worker started again on its node), one API
    process killed and started again, one PostgreSQL restart; in a thread of its own."""

    def __init__(
        self,
        plan: ChaosPlan,
        workers: WorkerProcesses,
        nodes: list[Path],
        apis: list[ApiNode],
        reads: sa.Engine,
    ) -> None:
        self.plan = plan
        self.workers = workers
        self.nodes = nodes
        self.live: list[WorkerProcess] = []
        self.apis = apis
        self.reads = reads
        self.rng = random.Random(plan.seed)
        self.watch = RecoveryWatch(reads)
        self.kills: list[Kill] = []
        self.outages: list[Outage] = []
        self.failure: str | None = None
        self.began = 0.0
        self._up: set[str] = set()
        """Workers seen started (their logs only grow)."""
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name="chaos", daemon=True),
            threading.Thread(target=self.watch.run, args=(self._stop,), name="watch", daemon=True),
        ]

    def start_workers(self) -> None:
        self.live = [self.workers.start(WORKER, data_dir=str(node)) for node in self.nodes]
        self.workers.wait_started(*self.live)

    def start(self) -> None:
        self.began = time.monotonic()
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)
            assert not thread.is_alive(), f"the {thread.name} thread did not stop"

    def _run(self) -> None:
        begun = self.began
        # PostgreSQL first: its restart waits until no process is starting, and an API
        # process takes long to start on a loaded machine (kills go on meanwhile).
        events: list[tuple[float, Callable[[], None]]] = [
            (begun + 0.55 * self.plan.seconds, self._restart_api)
        ]
        if self.plan.restart_postgres:
            events.append((begun + 0.3 * self.plan.seconds, self._restart_postgres))
        next_kill = begun + self._kill_gap()
        try:
            while True:
                when, action = min([*events, (next_kill, self._kill_worker)], key=lambda e: e[0])
                if self._stop.wait(max(0.0, when - time.monotonic())):
                    return
                action()
                if action == self._kill_worker:
                    next_kill = time.monotonic() + self._kill_gap()
                else:
                    events.remove((when, action))
        except BaseException:
            self.failure = traceback.format_exc()

    def restarts_done(self) -> bool:
        """Whether the API process and PostgreSQL (if planned) have been restarted."""
        return len(self.outages) == 1 + self.plan.restart_postgres

    def _kill_gap(self) -> float:
        return self.plan.kill_every * self.rng.uniform(0.5, 1.5)

    def _kill_worker(self) -> None:
        """SIGKILL a random worker that is up, once more than half the nodes' workers are:
        a kill hits a worker at work, not one still importing (a start takes seconds of
        CPU, many more on a loaded machine), and half the workers always run."""
        if not self._until(self._enough_started, WORKER_START_DEADLINE):
            return
        node = self.rng.choice([n for n, worker in enumerate(self.live) if self._started(worker)])
        victim = self.live[node]
        at = time.monotonic()
        victim.process.kill()
        self.workers.wait_exit(victim)
        held, led = retried_read(lambda: held_by(self.reads, victim.pid))
        kill = Kill(victim.name, victim.pid, at, held, led)
        self.kills.append(kill)
        self.watch.add(kill)
        self.live[node] = self.workers.start(WORKER, data_dir=str(self.nodes[node]))

    def _enough_started(self) -> bool:
        for worker in self.live:
            if worker.process.poll() is not None:
                raise AssertionError(f"{worker.name} exited by itself:\n{worker.tail()}")
        return sum(self._started(worker) for worker in self.live) > len(self.live) // 2

    def _started(self, worker: WorkerProcess) -> bool:
        if worker.name not in self._up and worker.started():
            self._up.add(worker.name)
        return worker.name in self._up

    def _all_up(self) -> bool:
        restarting = [t for t in self._threads if t.name == "api-restart" and t.is_alive()]
        every = all(self._started(worker) for worker in self.live)
        return self._enough_started() and every and not restarting

    def _until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait for `condition` (failing at the deadline); False if stopped meanwhile."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"not met within {timeout}s: {condition.__name__}")
            if self._stop.wait(0.1):
                return False
        return True

    def _restart_api(self) -> None:
        """Kill an API process and start it again; kills go on while it comes up."""
        api = self.rng.choice(self.apis)
        started = time.monotonic()
        api.kill()
        api.start()
        waiting = threading.Thread(target=self._api_back, args=(api, started), name="api-restart")
        self._threads.append(waiting)
        waiting.start()

    def _api_back(self, api: ApiNode, started: float) -> None:
        try:
            api.wait_ready()
        except BaseException:
            self.failure = traceback.format_exc()
            return
        self.outages.append(
            Outage(f"{api.name} killed and started again", started, time.monotonic())
        )

    def _restart_postgres(self) -> None:
        """Restart the cluster once no process is starting: a process whose start meets
        the outage exits (1) rather than waiting for the database, which is not what
        this test is about."""
        if not self._until(self._all_up, WORKER_START_DEADLINE):
            return
        started = time.monotonic()
        postgres_cluster.restart(postgres_cluster.Restart())
        self.outages.append(Outage("postgres", started, time.monotonic()))

    def allowed_delay(self, kill: Kill, job_id: str, slack: float) -> float:
        """How long a job of `kill` may stay held: its lease, then half a lease until the
        next round of the maintenance leader's reaper, plus slack. Stretched by a leader
        killed while the job waited (the role is taken over a lease after the dead
        leader's last renewal, so the wait starts again at that kill) and by a database
        outage in the window (plus the 5 s a loop may back off after it)."""
        window = 1.5 * self.plan.lease_seconds + slack
        end = self.leader_lost_after(kill, job_id, window) + window
        overlapping = [
            outage
            for outage in self.outages
            if outage.what == "postgres" and outage.started < end and kill.at < outage.ended
        ]
        return end - kill.at + sum(outage.seconds + 5.0 for outage in overlapping)

    def leader_lost_after(self, kill: Kill, job_id: str, window: float) -> float:
        """When the last maintenance leader killed while the job waited died (each within
        `window` of the kill before); the kill's own time if none was."""
        waited_until = kill.at + kill.released.get(job_id, float("inf"))
        anchor = kill.at
        for other in sorted(self.kills, key=lambda k: k.at):
            if other.led and anchor < other.at < waited_until and other.at <= anchor + window:
                anchor = other.at
        return anchor

    def restarted_workers(self) -> list[WorkerProcess]:
        return [w for w in self.workers.all if w not in self.live]
