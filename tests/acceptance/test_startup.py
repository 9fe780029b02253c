"""Starting and stopping the real `nxdocs serve` and `nxdocs worker` like a service.

What stops a start is one line saying what, where and what to check, with exit
status 1, never a traceback; a database that comes up later is waited for when
asked; a graceful SIGTERM ends with status 0; the first start's "try it" lines
make a real artifact and wait for its job.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from nxdocs.preflight import StartupError, bind_listener
from tests.support.process import NXDOCS, child_env, nxdocs, nxdocs_serve
from tests.support.server import free_port
from tests.support.tcp_relay import relay
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


def test_an_unreachable_database_is_one_line_and_status_1(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = child_env(
        database_url=f"postgresql://postgres@127.0.0.1:{port}/nxdocs", data_dir=str(tmp_path)
    )
    for command in (("worker",), ("serve", "--port", str(free_port())), ("db", "upgrade")):
        line = _one_line(nxdocs(*command, env=env))
        assert line.startswith(f"Cannot reach the database at 127.0.0.1:{port}/nxdocs (connection")
        assert "check that PostgreSQL is running" in line
        assert "--wait-for-database" in line


def test_a_database_that_comes_up_later_is_waited_for(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    port = free_port()
    real = make_url(postgres_schema_url)
    late = real.set(port=port).render_as_string(hide_password=False)
    log = tmp_path / "worker.log"
    with log.open("w") as sink:
        worker = subprocess.Popen(
            [NXDOCS, "worker", "--wait-for-database", "120"],
            env=child_env(database_url=late, data_dir=str(tmp_path)),
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        wait_until(lambda: "not reachable yet" in log.read_text(), timeout=60)
        with relay(port, (real.host or "127.0.0.1", real.port or 5432)):
            wait_until(lambda: re.search(r"worker \S+ started", log.read_text()), timeout=60)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert "Traceback" not in log.read_text()


def test_a_port_in_use_is_one_line_and_status_1(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        data_dir = tmp_path / "data"
        line = _one_line(
            nxdocs("serve", "--port", str(port), env=child_env(data_dir=str(data_dir)))
        )
    assert line.startswith(f"Port {port} on 127.0.0.1 is in use")
    assert not data_dir.exists()  # found before anything else started


def test_an_unwritable_data_directory_is_one_line_and_status_1(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    data_dir = blocker / "data"
    for command in (("serve", "--port", str(free_port())), ("worker",), ("keys", "list")):
        line = _one_line(nxdocs(*command, env=child_env(data_dir=str(data_dir))))
        assert line.startswith(f"The data directory {data_dir} is not writable (Not a directory)")


def test_the_first_start_tries_a_real_artifact_and_sigterm_exits_0(tmp_path: Path) -> None:
    env = child_env(data_dir=str(tmp_path / "data"))
    with nxdocs_serve(tmp_path, env) as served:
        output = served.output()
        start = output.index("  export NXDOCS_API_KEY=")
        lines = [line.strip() for line in output[start:].splitlines()[:3]]
        assert lines[1].startswith("JOB=$(curl")
        assert lines[2].startswith("curl")
        tried = subprocess.run(
            ["bash", "-c", "\n".join(lines)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        job = json.loads(tried.stdout)
        assert job["status"] == "completed", job
        assert job["result"]["artifact_id"].startswith("doc_")
    assert served.process.returncode == 0, served.output()


def test_the_port_is_held_from_the_check_on() -> None:
    # Bound with SO_REUSEADDR as uvicorn binds, a second socket could take the
    # same port until one listens: the check listens at once.
    held = bind_listener("127.0.0.1", 0)
    try:
        with pytest.raises(StartupError, match="is in use"):
            bind_listener("127.0.0.1", held.getsockname()[1]).close()
    finally:
        held.close()
