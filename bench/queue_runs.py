"""What the queue benchmarks share: one run's result, and worker processes started
and stopped around it."""

from __future__ import annotations

import argparse
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.01
TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Result:
    backend: str
    jobs: int
    workers: int
    enqueue_s: float
    drain_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    failed: int

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.drain_s

    @classmethod
    def of(
        cls,
        backend: str,
        args: argparse.Namespace,
        times: tuple[float, float, float],
        latencies: list[int],
        failed: int,
    ) -> Result:
        """From the run's (started, enqueued, drained) clock readings and its jobs'
        latencies in milliseconds, ascending."""
        started, enqueued, drained = times
        return cls(
            backend=backend,
            jobs=args.jobs,
            workers=args.workers,
            enqueue_s=enqueued - started,
            drain_s=drained - started,
            p50_ms=percentile(latencies, 0.50),
            p99_ms=percentile(latencies, 0.99),
            max_ms=float(latencies[-1]),
            failed=failed,
        )


def started_processes(
    commands: list[list[str]],
    outputs: list[Path],
    ready: str,
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
) -> list[subprocess.Popen[bytes]]:
    """One process per command, its output in the matching file; returns once each
    has printed `ready` (stops them all and raises if one exits or a minute passes)."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command, output in zip(commands, outputs, strict=True):
            with output.open("wb") as sink:
                processes.append(
                    subprocess.Popen(command, cwd=cwd, env=env, stdout=sink, stderr=sink)
                )
        deadline = time.monotonic() + 60
        while not all(ready in output.read_text() for output in outputs):
            if any(process.poll() is not None for process in processes) or (
                time.monotonic() > deadline
            ):
                raise RuntimeError("a worker did not start:\n" + _tails(outputs))
            time.sleep(0.05)
    except BaseException:
        stopped_processes(processes, outputs)
        raise
    return processes


def stopped_processes(processes: list[subprocess.Popen[bytes]], outputs: list[Path]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if code != 0:
            print(f"warning: worker pid {process.pid} exited {code}\n{_tails(outputs)}")


def _tails(outputs: list[Path]) -> str:
    return "\n".join(
        f"--- {output.name}\n" + "\n".join(output.read_text().splitlines()[-20:])
        for output in outputs
    )


def percentile(ordered: list[int], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(fraction * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])
