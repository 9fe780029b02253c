"""A real `nxdocs worker` killed mid-generation: another finishes the job, one artifact results.

The API runs in this process without workers; the workers are the real
console script, talking over HTTP to the language-model stand-in in this
process, whose first answer is held until the test ends, so the first worker
is certainly generating when it is killed.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from nxdocs.db.schema import artifacts
from nxdocs.settings import Settings
from tests.support.api import MakeApi
from tests.support.artifacts import assert_hosted_artifact, llm_document
from tests.support.chat_server import API_KEY, MODEL, ChatServer, Reply
from tests.support.waiting import wait_until
from tests.support.worker_processes import EXIT_DEADLINE, WorkerProcesses, nxdocs_workers

pytestmark = pytest.mark.slow

PROMPT = "A short deck about tides"


@pytest.fixture
def workers(settings: Settings, chat: ChatServer, tmp_path: Path) -> Iterator[WorkerProcesses]:
    """`nxdocs worker` processes on the test's database, generating with `chat`."""
    with nxdocs_workers(
        settings,
        tmp_path,
        lease_seconds=1,
        worker_concurrency=1,
        shutdown_grace_seconds=2,
        llm_base_url=chat.base_url,
        llm_model=MODEL,
        llm_api_key=API_KEY,
        llm_timeout_seconds=30,
        llm_max_attempts=2,
    ) as started:
        yield started


def test_killed_worker_mid_generation_leaves_one_ready_artifact_made_by_the_next(
    make_api: MakeApi, chat: ChatServer, workers: WorkerProcesses
) -> None:
    api = make_api(embedded_worker=False)
    caller = api.caller()
    chat.script(
        replace(Reply.document(llm_document(3)), hang=True), Reply.document(llm_document(3))
    )
    (first,) = workers.start_ready()

    created = caller.create({"prompt": PROMPT, "page_count": 3})
    wait_until(lambda: len(chat.received) == 1, timeout=30)  # the first worker is generating
    row = api.job_row(created["job_id"])
    assert (row["state"], row["attempts"]) == ("running", 1)
    assert json.loads(str(row["payload"])) == {"artifact_id": created["id"]}  # fixed at enqueue
    assert f":{first.process.pid}:" in str(row["worker_id"])

    first.process.kill()
    assert first.process.wait(timeout=EXIT_DEADLINE) == -signal.SIGKILL
    assert caller.job(created["job_id"])["status"] == "processing"
    assert caller.artifact(created["id"])["status"] == "generating"
    (second,) = workers.start_ready()

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
    row = api.job_row(created["job_id"])
    assert (row["state"], row["attempts"], row["worker_id"]) == ("succeeded", 2, None)
    assert len(chat.received) == 2

    second.process.send_signal(signal.SIGTERM)
    assert second.process.wait(timeout=EXIT_DEADLINE) == 0, workers.diagnostics()
    workers.assert_no_traceback()
