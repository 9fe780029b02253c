"""Exports of artifacts still generating: the job waits for the artifact, on both databases.

Generation is held deterministically: the artifact is prompt-only, and the
scripted chat server standing in for the language model holds its answer
until the test lets it go (`ChatServer.release`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from nxdocs.db.schema import exports
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.chat_server import ChatServer, Reply
from tests.support.exports import assert_hosted_export
from tests.support.file_readers import in_order, pdf_pages
from tests.support.waiting import wait_until

PROMPT = {"prompt": "Coffee: beans, roasting and brewing", "page_count": 3}


def llm_document(pages: int) -> dict[str, Any]:
    return {
        "type": "presentation",
        "title": "Coffee",
        "pages": [
            {
                "blocks": [
                    {"type": "heading", "text": f"Part {n}"},
                    {"type": "list", "items": [{"spans": [{"text": f"Beans {n}"}]}]},
                ]
            }
            for n in range(1, pages + 1)
        ],
    }


def held_export(api: ServedApi, alice: Caller, chat: ChatServer) -> tuple[str, dict[str, Any]]:
    """An artifact whose generation is held at the chat server, and an export of it whose
    job is running: claimed, and waiting for the artifact."""
    artifact = alice.create(PROMPT)
    wait_until(lambda: len(chat.received) == 1)  # the generation is in flight, held
    created = alice.export_async(artifact["id"], "pdf")
    assert_hosted_export(created, "processing")
    wait_until(lambda: api.job_row(created["job_id"])["state"] == "running")
    assert alice.ok(f"/v1/artifacts/{artifact['id']}")["status"] == "generating"
    assert alice.ok(f"/v1/exports/{created['id']}")["status"] == "processing"
    return artifact["id"], created


def test_an_export_waits_inside_its_job_for_the_artifact(
    make_api: MakeApi, chat: ChatServer, anonymous: httpx.Client
) -> None:
    chat.script(replace(Reply.document(llm_document(3)), hang=True))
    api = make_api(llm=chat)
    alice = api.caller("alice")
    artifact_id, created = held_export(api, alice, chat)

    chat.release.set()

    job = alice.finished_job(created["job_id"])
    assert job["status"] == "completed", job
    assert alice.ok(f"/v1/artifacts/{artifact_id}")["status"] == "ready"
    export = alice.ok(f"/v1/exports/{created['id']}")
    assert_hosted_export(export, "completed", base_url=api.base_url)
    assert export["pages_exported"] == 3
    pages = pdf_pages(anonymous.get(export["download_url"]).content)
    assert len(pages) == 3
    assert in_order(" ".join(pages), ["Part 1", "Beans 1", "Part 2", "Part 3", "Beans 3"])
    # It waited in its first attempt; it was not failed and retried meanwhile.
    assert api.job_row(created["job_id"])["attempts"] == 1


def test_an_export_of_an_artifact_that_fails_fails_with_artifact_failed(
    make_api: MakeApi, chat: ChatServer
) -> None:
    chat.script(Reply(status=400, body=b'{"error": "bad request"}', hang=True))
    api = make_api(llm=chat)
    alice = api.caller("alice")
    artifact_id, created = held_export(api, alice, chat)

    chat.release.set()

    job = alice.finished_job(created["job_id"])
    assert (job["status"], job["error"]["code"], job["result"]) == (
        "failed",
        "ARTIFACT_FAILED",
        None,
    )
    artifact = alice.ok(f"/v1/artifacts/{artifact_id}")
    assert (artifact["status"], artifact["error"]["code"]) == ("failed", "GENERATION_FAILED")
    export = alice.ok(f"/v1/exports/{created['id']}")
    assert_hosted_export(export, "failed")
    assert export["error"] == job["error"]
    assert "GENERATION_FAILED" in export["error"]["message"]
    assert api.job_row(created["job_id"])["attempts"] == 1
    assert api.export_files(created["id"]) == []

    # An export asked for after the failure fails the same way, as data.
    late = alice.post("/v1/exports", json={"artifact_id": artifact_id, "format": "html"})
    assert late.status_code == 201, late.text
    assert (late.json()["status"], late.json()["error"]["code"]) == ("failed", "ARTIFACT_FAILED")
    assert api.count(exports) == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # scheduling, not storage
def test_a_waiting_export_does_not_hold_up_the_artifact_it_waits_for(
    make_api: MakeApi, chat: ChatServer
) -> None:
    # The first answer is a 503 (retried by the job engine), the second the document.
    chat.script(replace(Reply(status=503, body=b"{}"), hang=True), Reply.document(llm_document(3)))
    api = make_api(llm=chat, worker_concurrency=1, artifact_wait_seconds=2)
    alice = api.caller("alice")
    artifact = alice.create(PROMPT)
    wait_until(lambda: len(chat.received) == 1)
    created = alice.export_async(artifact["id"], "html")

    chat.release.set()

    job = alice.finished_job(created["job_id"])
    assert job["status"] == "completed"
    assert api.job_row(created["job_id"])["attempts"] == 1, "the export gave up waiting once"
