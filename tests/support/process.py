"""Running the real `nxdocs` command as a subprocess, for acceptance tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import free_port
from tests.support.waiting import wait_until

NXDOCS = str(Path(sys.executable).parent / "nxdocs")


def child_env(**settings: str) -> dict[str, str]:
    """This environment without NXDOCS_* settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXDOCS_")}
    env.update({f"NXDOCS_{name.upper()}": value for name, value in settings.items()})
    return env


def nxdocs(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NXDOCS, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def nxdocs_serve(tmp_path: Path, env: dict[str, str], *args: str) -> Iterator[Served]:
    """`nxdocs serve` on a free port until the block ends (stopped with SIGTERM)."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [NXDOCS, "serve", "--port", str(port), *args],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until(lambda: _answers(served) or process.poll() is not None, timeout=60)
        assert process.poll() is None, served.output()
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(served: Served) -> bool:
    try:
        return httpx.get(f"{served.base_url}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
