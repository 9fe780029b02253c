"""The real `nxdocs serve`, driven like a new user would: CLI keys and the contract's snippets."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nxdocs.jobs.model import ARTIFACT_CREATE, NewJob
from nxdocs.settings import Settings
from nxdocs.system import build_system
from tests.support.contract import NOT_FOUND, TIMESTAMP, validate_error, validate_job
from tests.support.process import Served, child_env, nxdocs, nxdocs_serve
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

SNIPPETS = Path(__file__).resolve().parent.parent / "contract" / "snippets"
SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "jobs-api.txt"
HOSTED = "https://api.nextdocs.io"
DOCUMENTED_JOB = {
    "id": "job_abc123def456",
    "error": None,
    "object": "job",
    "result": None,
    "status": "processing",
    "type": "artifact.create",
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def served(tmp_path: Path, data_dir: Path) -> Iterator[Served]:
    """`nxdocs serve` without workers, so a job stays "processing" as in the contract."""
    env = child_env(data_dir=str(data_dir), auth_cache_seconds="0.2")
    with nxdocs_serve(tmp_path, env, "--no-worker") as server:
        yield server


def cli_key(data_dir: Path, *extra: str) -> str:
    created = nxdocs(
        "keys", "create", "--name", "snippets", *extra, env=child_env(data_dir=str(data_dir))
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"nxd_[A-Za-z0-9]{40}", key)
    return key


def enqueue_documented_job(data_dir: Path, key: str) -> None:
    """The contract's example job, with its id, for the snippets to fetch."""
    system = build_system(Settings(data_dir=data_dir))
    try:
        principal = system.keys.principal_of(key)
        assert principal is not None
        with system.engine.begin() as connection:
            job = NewJob("job_abc123def456", principal.user_id, ARTIFACT_CREATE, {})
            system.store.enqueue(connection, job, max_attempts=3)
    finally:
        system.close()


def snippet(name: str, base_url: str, key: str) -> str:
    return (SNIPPETS / name).read_text().replace(HOSTED, base_url).replace("<token>", key)


def assert_documented_job(text: str) -> None:
    body = json.loads(text)
    validate_job(body)
    assert {k: body[k] for k in DOCUMENTED_JOB} == DOCUMENTED_JOB
    assert TIMESTAMP.match(body["created_at"])
    assert TIMESTAMP.match(body["updated_at"])


@pytest.mark.skipif(not SPEC.exists(), reason="shared/spec is not beside the project")
def test_snippets_are_the_contract_pages_own() -> None:
    spec = SPEC.read_text()
    for path in SNIPPETS.iterdir():
        assert path.read_text().strip() in spec, path.name


def test_first_serve_prints_a_working_key_for_its_try_it_lines(served: Served) -> None:
    # The lines themselves run in test_startup (they need a worker).
    output = served.output()
    key = re.search(r"nxd_[A-Za-z0-9]{40}", output)
    assert key is not None
    assert f"export NXDOCS_API_KEY={key.group(0)}" in output
    response = httpx.get(
        f"{served.base_url}/v1/jobs/job_abc123def456",
        headers={"Authorization": f"Bearer {key.group(0)}"},
    )
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_curl_snippet(served: Served, data_dir: Path) -> None:
    key = cli_key(data_dir)
    command = snippet("curl.sh", served.base_url, key).replace("\\\n", " ")
    missing = subprocess.run(command, shell=True, capture_output=True, text=True, check=True)
    assert json.loads(missing.stdout) == NOT_FOUND
    validate_error(json.loads(missing.stdout))
    enqueue_documented_job(data_dir, key)
    found = subprocess.run(command, shell=True, capture_output=True, text=True, check=True)
    assert_documented_job(found.stdout)


def test_python_requests_snippet(served: Served, data_dir: Path, tmp_path: Path) -> None:
    key = cli_key(data_dir)
    script = tmp_path / "request.py"
    script.write_text(snippet("request.py", served.base_url, key))
    missing = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    )
    assert json.loads(missing.stdout) == NOT_FOUND
    enqueue_documented_job(data_dir, key)
    found = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    )
    assert_documented_job(found.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_fetch_snippet(served: Served, data_dir: Path, tmp_path: Path) -> None:
    key = cli_key(data_dir)
    enqueue_documented_job(data_dir, key)
    script = tmp_path / "fetch.mjs"
    # The snippet is an expression; print what it resolves to.
    script.write_text(
        snippet("fetch.js", served.base_url, key).rstrip()
        + ".then(async (r) => console.log(await r.text()))\n"
    )
    found = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True)
    assert_documented_job(found.stdout)


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
def test_go_snippet(served: Served, data_dir: Path, tmp_path: Path) -> None:
    key = cli_key(data_dir)
    enqueue_documented_job(data_dir, key)
    program = tmp_path / "main.go"
    program.write_text(snippet("main.go", served.base_url, key))
    found = subprocess.run(["go", "run", str(program)], capture_output=True, text=True, check=True)
    assert_documented_job(found.stdout.strip().splitlines()[-1])


def test_keys_list_shows_no_secret_and_revoke_takes_effect(served: Served, data_dir: Path) -> None:
    key = cli_key(data_dir)
    env = child_env(data_dir=str(data_dir))
    listed = nxdocs("keys", "list", env=env)
    assert listed.returncode == 0
    assert key not in listed.stdout
    assert key[:10] in listed.stdout
    key_id = re.findall(r"key_[a-z0-9]+", listed.stdout)[-1]
    headers = {"Authorization": f"Bearer {key}"}
    url = f"{served.base_url}/v1/jobs/job_abc123def456"
    assert httpx.get(url, headers=headers).status_code == 404
    assert nxdocs("keys", "revoke", key_id, env=env).returncode == 0
    wait_until(lambda: httpx.get(url, headers=headers).status_code == 401, timeout=10)
    assert nxdocs("keys", "revoke", key_id, env=env).returncode == 1


def test_key_for_another_owner_cannot_see_the_job(served: Served, data_dir: Path) -> None:
    key = cli_key(data_dir)
    enqueue_documented_job(data_dir, key)
    stranger = cli_key(data_dir, "--new-owner")
    url = f"{served.base_url}/v1/jobs/job_abc123def456"
    assert httpx.get(url, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    response = httpx.get(url, headers={"Authorization": f"Bearer {stranger}"})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_server_log_has_no_traceback_or_key(served: Served, data_dir: Path) -> None:
    key = cli_key(data_dir)
    httpx.get(f"{served.base_url}/v1/jobs/x", headers={"Authorization": f"Bearer {key}"})
    served.process.terminate()
    served.process.wait(timeout=60)
    # uvicorn re-raises the signal once its graceful shutdown is done.
    assert served.process.returncode in (0, -signal.SIGTERM)
    output = served.output()
    assert "Traceback" not in output
    assert key not in output
