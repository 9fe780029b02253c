"""Worker processes a test starts, stops with signals and reads the output of.

`WorkerProcesses` starts `python -m tests.support.harness_worker` (the
`nxdocs worker` code path with the scripted handlers) or the real `nxdocs
worker` command, each with its NXDOCS_* settings and its output in a file
under the test's `tmp_path`. A failed wait shows the tail of every worker's
output; whatever is still alive at the end is killed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

from nxdocs.settings import Settings
from tests.support.process import NXDOCS, child_env
from tests.support.waiting import wait_until

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
HARNESS = (sys.executable, "-m", "tests.support.harness_worker")
NXDOCS_WORKER = (NXDOCS, "worker")
Setting = float | int | str
MAX_ATTEMPTS = 3
EXIT_DEADLINE = 20.0
"""Seconds a signalled worker gets to exit: its grace period plus a loaded machine's slack."""

BASE_SETTINGS: dict[str, Setting] = {
    "lease_seconds": 30.0,
    "backoff_base_seconds": 0.01,
    "backoff_max_seconds": 0.05,
    "poll_interval_seconds": 0.2,
    "worker_concurrency": 4,
    "max_attempts": MAX_ATTEMPTS,
    "shutdown_grace_seconds": 5.0,
    "log_level": "info",
}
"""The acceptance tests' worker settings, before each test's own."""


class WorkerProcess:
    """One worker process; its stdout and stderr go to one file."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], output: Path) -> None:
        self.name = name
        self.process = process
        self.output = output

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def started(self) -> bool:
        return " started, concurrency " in self.text()


class WorkerProcesses:
    """The worker processes of one test, on one database and data directory.

    Each starts with `BASE_SETTINGS`, then the group's `settings`, then its own.
    `close()` (for `contextlib.closing`) kills whatever is still alive.
    """

    def __init__(
        self,
        tmp_path: Path,
        database_url: str,
        data_dir: Path,
        *,
        command: tuple[str, ...] = HARNESS,
        **settings: Setting,
    ) -> None:
        self.tmp_path = tmp_path
        self.command = command
        self.settings = {
            **BASE_SETTINGS,
            "database_url": database_url,
            "data_dir": str(data_dir),
            **settings,
        }
        self.all: list[WorkerProcess] = []

    def start(
        self, command: tuple[str, ...] | None = None, /, **settings: Setting
    ) -> WorkerProcess:
        """Start a worker (`command`, else this group's); it may not be claiming yet."""
        name = f"worker{len(self.all)}"
        output = self.tmp_path / f"{name}.log"
        given = {**self.settings, **settings}
        with output.open("wb") as sink:
            process = subprocess.Popen(
                list(command or self.command),
                cwd=ROOT,
                env=child_env(**{key: str(value) for key, value in given.items()}),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(name, process, output)
        self.all.append(worker)
        return worker

    def start_ready(self, count: int = 1, **settings: Setting) -> list[WorkerProcess]:
        """Start `count` workers and wait until each is claiming."""
        started = [self.start(**settings) for _ in range(count)]
        self.wait_started(*started)
        return started

    def wait_started(self, *workers: WorkerProcess) -> None:
        def ready() -> bool:
            for worker in workers:
                if worker.process.poll() is not None:
                    raise AssertionError(f"{worker.name} exited early\n{self.diagnostics()}")
            return all(worker.started() for worker in workers)

        self.wait_for(ready, "workers to start", timeout=60)

    def by_worker_id(self, worker_id: str) -> WorkerProcess:
        """The worker whose pid is in `worker_id` (`host:pid:random`)."""
        pid = int(worker_id.rsplit(":", 2)[1])
        return next(worker for worker in self.all if worker.pid == pid)

    def wait_for(
        self,
        condition: Callable[[], T | None],
        what: str,
        timeout: float = 30.0,
        interval: float = 0.05,
    ) -> T:
        """`wait_until`, failing with every worker's output."""
        try:
            value = wait_until(condition, timeout=timeout, interval=interval)
        except AssertionError as exc:
            raise AssertionError(f"waiting for {what}: {exc}\n{self.diagnostics()}") from None
        assert value is not None
        return value

    def signal_and_wait(
        self, worker: WorkerProcess, signum: int, timeout: float = EXIT_DEADLINE
    ) -> int:
        """Send `signum`; the exit code, which must come within `timeout` seconds."""
        worker.process.send_signal(signum)
        return self.wait_exit(worker, timeout)

    def wait_exit(self, worker: WorkerProcess, timeout: float = EXIT_DEADLINE) -> int:
        try:
            return worker.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{worker.name} did not exit within {timeout}s\n{self.diagnostics()}"
            ) from None

    def stop_all(self) -> None:
        """SIGTERM every live worker (once: a second one may hit interpreter exit); each exits 0."""
        alive = [worker for worker in self.all if worker.process.poll() is None]
        for worker in alive:
            worker.process.send_signal(signal.SIGTERM)
        for worker in alive:
            code = self.wait_exit(worker)
            assert code == 0, f"{worker.name} exited {code}\n{self.diagnostics()}"

    def assert_no_traceback(self) -> None:
        for worker in self.all:
            assert "Traceback" not in worker.text(), f"{worker.name}:\n{worker.tail(60)}"

    def diagnostics(self) -> str:
        parts = []
        for worker in self.all:
            code = worker.process.poll()
            parts.append(f"--- {worker.name} (pid {worker.pid}, exit {code}) ---\n{worker.tail()}")
        return "\n".join(parts)

    def close(self) -> None:
        """Kill every worker still alive (SIGKILL ends a stopped process too)."""
        for worker in self.all:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait(timeout=30)


@contextmanager
def nxdocs_workers(
    settings: Settings, tmp_path: Path, **extra: Setting
) -> Iterator[WorkerProcesses]:
    """`nxdocs worker` processes beside an in-process API built from `settings`: on its
    database and data directory, with `extra` settings; all killed when the block ends."""
    group = WorkerProcesses(
        tmp_path,
        settings.resolved_database_url(),
        settings.data_dir,
        command=NXDOCS_WORKER,
        **extra,
    )
    with closing(group):
        yield group
