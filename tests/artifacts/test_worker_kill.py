"""A real `nxdocs worker` killed mid-generation: another finishes the job, one artifact results.

The API runs in this process without workers; the workers are the real
console script, talking over HTTP to the language-model stand-in in this
process, whose first answer is held until the test ends, so the first worker
is certainly generating when it is killed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from nxdocs.db.schema import artifacts, jobs
from nxdocs.settings import Settings
from tests.support.artifacts import ArtifactApi, assert_hosted_artifact, llm_document
from tests.support.chat_server import API_KEY, MODEL, ChatServer, Reply
from tests.support.process import child_env
from tests.support.waiting import wait_until

from .conftest import MakeApi

pytestmark = pytest.mark.slow

PROMPT = "A short deck about tides"
NXDOCS_WORKER = (str(Path(sys.executable).parent / "nxdocs"), "worker")
EXIT_DEADLINE = 20.0


class WorkerProcess:
    """One `nxdocs worker`; its stdout and stderr go to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                NXDOCS_WORKER,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_started(self) -> None:
        def started() -> bool:
            assert self.process.poll() is None, f"the worker exited early:\n{self.output()}"
            return " started, concurrency " in self.output()

        wait_until(started, timeout=60)


class Workers:
    """The worker processes of one test; any still alive at teardown is killed."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.all: list[WorkerProcess] = []

    def start(self) -> WorkerProcess:
        worker = WorkerProcess(self.env, self.tmp_path / f"worker{len(self.all)}.log")
        self.all.append(worker)
        worker.wait_started()
        return worker

    def diagnostics(self) -> str:
        return "\n".join(f"--- worker{n} ---\n{w.output()}" for n, w in enumerate(self.all))

    def kill_leftovers(self) -> None:
        for worker in self.all:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait(timeout=EXIT_DEADLINE)


@pytest.fixture
def workers(settings: Settings, chat: ChatServer, tmp_path: Path) -> Iterator[Workers]:
    env = child_env(
        database_url=settings.resolved_database_url(),
        data_dir=str(settings.data_dir),
        lease_seconds="1",
        worker_concurrency="1",
        poll_interval_seconds="0.2",
        max_attempts="3",
        backoff_base_seconds="0.01",
        backoff_max_seconds="0.05",
        shutdown_grace_seconds="2",
        log_level="info",
        llm_base_url=chat.base_url,
        llm_model=MODEL,
        llm_api_key=API_KEY,
        llm_timeout_seconds="30",
        llm_max_attempts="2",
    )
    started = Workers(env, tmp_path)
    try:
        yield started
    finally:
        started.kill_leftovers()


def job_row(api: ArtifactApi, job_id: str) -> dict[str, object]:
    [row] = [row for row in api.rows(jobs) if row["id"] == job_id]
    return row


def test_killed_worker_mid_generation_leaves_one_ready_artifact_made_by_the_next(
    make_api: MakeApi, chat: ChatServer, workers: Workers
) -> None:
    api = make_api(embedded_worker=False)
    caller = api.caller()
    chat.script(
        replace(Reply.document(llm_document(3)), hang=True), Reply.document(llm_document(3))
    )
    first = workers.start()

    created = caller.create({"prompt": PROMPT, "page_count": 3})
    wait_until(lambda: len(chat.received) == 1, timeout=30)  # the first worker is generating
    row = job_row(api, created["job_id"])
    assert (row["state"], row["attempts"]) == ("running", 1)
    assert json.loads(str(row["payload"])) == {"artifact_id": created["id"]}  # fixed at enqueue
    assert f":{first.process.pid}:" in str(row["worker_id"])

    first.process.kill()
    assert first.process.wait(timeout=EXIT_DEADLINE) == -signal.SIGKILL
    assert caller.job(created["job_id"])["status"] == "processing"
    assert caller.artifact(created["id"])["status"] == "generating"
    second = workers.start()

    job = caller.finished_job(created["job_id"], timeout=60)

    assert job["status"] == "completed", workers.diagnostics()
    assert job["result"] == {"artifact_id": created["id"]}
    [stored] = api.rows(artifacts)
    assert (stored["id"], stored["job_id"], stored["status"], stored["page_count"]) == (
        created["id"],
        created["job_id"],
        "ready",
        3,
    )
    artifact = caller.artifact(created["id"])
    assert_hosted_artifact(artifact, "ready")
    assert artifact["generation"] == {"generator": "llm", "model": MODEL}
    row = job_row(api, created["job_id"])
    assert (row["state"], row["attempts"], row["worker_id"]) == ("succeeded", 2, None)
    assert len(chat.received) == 2

    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(timeout=EXIT_DEADLINE) == 0, workers.diagnostics()
    assert "Traceback" not in workers.diagnostics()
