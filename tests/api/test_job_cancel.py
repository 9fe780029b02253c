"""`POST /v1/jobs/{id}/cancel`, on both databases, with the real handlers.

A queued job never runs; a running one stops at its next check; both end
`failed` with CANCELLED, and so does their artifact or export. Workers are
started by the tests themselves, so a job is queued or running when the test
says so.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from nxdocs.db.schema import artifacts
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.artifacts import llm_document
from tests.support.chat_server import ChatServer, Reply
from tests.support.waiting import wait_until

CONTENT = {"type": "presentation", "content": "# One\n\nA page."}
MANY_PAGES = "\n\n---\n\n".join(f"# Slide {n}\n\nWords on slide {n}." for n in range(1, 121))
CANCELLED_MESSAGE = re.compile(
    r"The job was cancelled by owner user_[a-z0-9]+ at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\."
)


@pytest.fixture
def served(make_api: MakeApi) -> ServedApi:
    return make_api(embedded_worker=False)


@pytest.fixture
def alice(served: ServedApi) -> Caller:
    return served.caller("alice")


def cancel(caller: Caller, job_id: str) -> dict[str, Any]:
    response = caller.post(f"/v1/jobs/{job_id}/cancel")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def assert_cancelled(job: dict[str, Any]) -> None:
    assert job["status"] == "failed"
    assert job["error"]["code"] == "CANCELLED"
    assert CANCELLED_MESSAGE.fullmatch(job["error"]["message"]), job["error"]["message"]


def test_a_queued_job_never_runs(served: ServedApi, alice: Caller) -> None:
    created = alice.create(CONTENT)
    job = cancel(alice, created["job_id"])
    assert_cancelled(job)
    assert job == alice.job(created["job_id"])
    artifact = alice.artifact(created["id"])
    assert artifact["status"] == "failed"
    assert artifact["error"] == job["error"]
    with served.worker():
        later = alice.create(CONTENT)
        assert alice.finished_job(later["job_id"])["status"] == "completed"
    assert served.job_row(created["job_id"])["attempts"] == 0
    assert alice.job(created["job_id"]) == job


def test_a_queued_export_ends_failed_with_the_same_error(served: ServedApi, alice: Caller) -> None:
    with served.worker():
        artifact = alice.ready_artifact(CONTENT)
    export = alice.export_async(artifact["id"], "pdf")
    job = cancel(alice, export["job_id"])
    assert_cancelled(job)
    shown = alice.ok(f"/v1/exports/{export['id']}")
    assert shown["status"] == "failed"
    assert shown["error"] == job["error"]
    assert shown["download_url"] is None


def test_cancelling_a_finished_job_is_a_conflict(served: ServedApi, alice: Caller) -> None:
    with served.worker():
        artifact = alice.ready_artifact(CONTENT)
    response = alice.post(f"/v1/jobs/{artifact['job_id']}/cancel")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "CONFLICT",
        "message": "The job has already finished (completed); it cannot be cancelled.",
    }
    assert alice.job(artifact["job_id"])["status"] == "completed"
    again = alice.post(f"/v1/jobs/{alice.create(CONTENT)['job_id']}/cancel")
    assert again.status_code == 200
    twice = alice.post(f"/v1/jobs/{again.json()['id']}/cancel")
    assert twice.status_code == 409
    assert "(failed)" in twice.json()["error"]["message"]


@pytest.mark.parametrize("job_id", ["job_doesnotexist1", "job_A", "doc_abc", "job_a%00b"])
def test_unknown_ids_are_404(alice: Caller, job_id: str) -> None:
    response = alice.post(f"/v1/jobs/{job_id}/cancel")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_another_owners_job_is_404_and_keeps_its_state(served: ServedApi, alice: Caller) -> None:
    bob = served.caller("bob")
    created = alice.create(CONTENT)
    response = bob.post(f"/v1/jobs/{created['job_id']}/cancel")
    assert response.status_code == 404
    assert alice.job(created["job_id"])["status"] == "processing"


def test_a_running_export_stops_before_its_last_page_and_leaves_no_file(
    served: ServedApi, alice: Caller
) -> None:
    with served.worker():
        artifact = alice.ready_artifact({"type": "presentation", "content": MANY_PAGES})
        assert artifact["page_count"] == 120
        progress_writes = ProgressWrites(served)
        export = alice.export_async(artifact["id"], "png")
        job_id = export["job_id"]
        started = wait_until(lambda: alice.job(job_id)["progress"], interval=0.005)
        assert started["done"] < started["total"]
        assert_cancelled(cancel(alice, job_id))
        progress_writes.mark()
    # The worker has stopped: whatever the attempt was going to do, it has done.
    job = alice.job(job_id)
    assert_cancelled(job)
    assert job["progress"]["done"] < job["progress"]["total"]
    # It stopped at its next check: at most one write once the cancel had
    # answered (one under way, or made before the worker heard), not one per
    # remaining page.
    assert progress_writes.since_mark() <= 1
    assert served.export_files(export["id"]) == []
    shown = alice.ok(f"/v1/exports/{export['id']}")
    assert shown["status"] == "failed"
    assert shown["error"]["code"] == "CANCELLED"


def test_a_running_generation_stops_at_its_next_check(make_api: MakeApi, chat: ChatServer) -> None:
    served = make_api(llm=chat, embedded_worker=False, llm_max_attempts=2)
    alice = served.caller("alice")
    # An answer the generator would reject and ask again for, held back until
    # the job has been cancelled: a generator that checks asks nothing more.
    chat.script(replace(Reply.content("not a document"), hang=True))
    chat.script(Reply.document(llm_document(3)))
    with served.worker():
        created = alice.create({"type": "presentation", "prompt": "Quarterly review"})
        wait_until(lambda: chat.received)
        assert_cancelled(cancel(alice, created["job_id"]))
        chat.release.set()
    assert len(chat.received) == 1
    assert_cancelled(alice.job(created["job_id"]))
    artifact = alice.artifact(created["id"])
    assert artifact["status"] == "failed"
    assert artifact["error"]["code"] == "CANCELLED"
    assert alice.artifact(created["id"])["page_count"] is None
    with served.system.engine.connect() as connection:
        document = connection.execute(
            sa.select(artifacts.c.document).where(artifacts.c.id == created["id"])
        ).scalar_one()
    assert document is None


class ProgressWrites:
    """Counts the progress updates the worker sends to the database (observed on the
    engine, not intercepted)."""

    def __init__(self, served: ServedApi) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._at_mark = 0
        sa.event.listen(served.system.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        statement = args[2]
        if statement.startswith("UPDATE jobs SET progress_done"):
            with self._lock:
                self._count += 1

    def mark(self) -> None:
        with self._lock:
            self._at_mark = self._count

    def since_mark(self) -> int:
        with self._lock:
            return self._count - self._at_mark
