"""The artifact routes end to end: async and sync creates, get, delete, and who may see what.

A held reply of the language-model stand-in keeps a generation in flight for
as long as a test needs, so the "generating" state is observed, not raced. Two
tests race on purpose, with quick Markdown generations: a response must never
report a later state than its status code promises.
"""

from __future__ import annotations

import time
from dataclasses import replace

from nxdocs.db.schema import artifacts, jobs
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.artifacts import assert_hosted_artifact, llm_document
from tests.support.chat_server import MODEL, ChatServer, Reply
from tests.support.contract import NOT_FOUND
from tests.support.waiting import wait_until

SLIDES = "# Coffee\n\nFrom bean to cup\n\n---\n\n## Beans\n\n- Arabica\n- Robusta\n"


def held(pages: int) -> Reply:
    """A good answer that the stand-in sends only once the test releases it."""
    return replace(Reply.document(llm_document(pages, "Tea")), hang=True)


def test_async_create_answers_generating_then_the_job_completes_and_the_artifact_is_ready(
    make_api: MakeApi, chat: ChatServer
) -> None:
    api = make_api(llm=chat)
    caller = api.caller()
    chat.script(held(3))

    response = caller.post("/v1/artifacts/async", json={"prompt": "Tea", "page_count": 3})

    assert response.status_code == 202
    created = response.json()
    assert_hosted_artifact(created, "generating")
    assert created["job_id"].startswith("job_")
    assert (created["brand_id"], created["theme_id"], created["type"]) == (
        None,
        None,
        "presentation",
    )
    wait_until(lambda: len(chat.received) == 1)  # the worker is generating now
    assert caller.job(created["job_id"])["status"] == "processing"
    assert_hosted_artifact(caller.artifact(created["id"]), "generating")

    chat.release.set()
    job = caller.finished_job(created["job_id"])

    assert (job["status"], job["type"], job["error"]) == ("completed", "artifact.create", None)
    assert job["result"] == {"artifact_id": created["id"]}
    ready = caller.artifact(created["id"])
    assert_hosted_artifact(ready, "ready")
    assert ready["page_count"] == 3
    assert (ready["id"], ready["job_id"], ready["created_at"]) == (
        created["id"],
        created["job_id"],
        created["created_at"],
    )
    assert ready["generation"] == {"generator": "llm", "model": MODEL}


def test_sync_create_answers_201_with_the_ready_artifact(api: ServedApi, alice: Caller) -> None:
    response = alice.post("/v1/artifacts", json={"content": SLIDES, "name": "Coffee deck"})

    assert response.status_code == 201
    body = response.json()
    assert_hosted_artifact(body, "ready")
    assert (body["name"], body["page_count"]) == ("Coffee deck", 2)
    assert body["generation"] == {"generator": "markdown"}
    assert alice.job(body["job_id"])["result"] == {"artifact_id": body["id"]}
    assert alice.artifact(body["id"]) == body


def test_sync_create_answers_202_generating_when_the_bounded_wait_runs_out(
    make_api: MakeApi, chat: ChatServer
) -> None:
    api = make_api(llm=chat, sync_wait_seconds=0.5)
    caller = api.caller()
    chat.script(held(2))

    started = time.monotonic()
    response = caller.post("/v1/artifacts", json={"prompt": "Tea", "page_count": 2})

    assert response.status_code == 202
    assert time.monotonic() - started >= 0.5
    body = response.json()
    assert_hosted_artifact(body, "generating")
    assert caller.job(body["job_id"])["status"] == "processing"

    chat.release.set()
    assert caller.finished_job(body["job_id"])["status"] == "completed"
    assert caller.artifact(body["id"])["page_count"] == 2


def test_sync_create_with_no_wait_answers_202(make_api: MakeApi, chat: ChatServer) -> None:
    api = make_api(llm=chat, sync_wait_seconds=0)
    caller = api.caller()
    chat.script(held(1))

    response = caller.post("/v1/artifacts", json={"prompt": "Tea", "page_count": 1})

    assert response.status_code == 202
    assert_hosted_artifact(response.json(), "generating")


RACES = 20


def test_async_create_answers_generating_even_when_the_generation_is_quick(
    api: ServedApi, alice: Caller
) -> None:
    bodies = [alice.create({"content": f"# Deck {n}"}) for n in range(RACES)]

    assert [body["status"] for body in bodies] == ["generating"] * RACES
    assert [body["page_count"] for body in bodies] == [None] * RACES


def test_sync_create_answers_202_only_with_a_generating_artifact(make_api: MakeApi) -> None:
    caller = make_api(sync_wait_seconds=0).caller()
    for n in range(RACES):
        response = caller.post("/v1/artifacts", json={"content": f"# Deck {n}"})
        expected = {201: {"ready", "failed"}, 202: {"generating"}}[response.status_code]
        assert response.json()["status"] in expected, (n, response.status_code)


def test_another_owners_artifact_is_404_on_every_route(
    api: ServedApi, alice: Caller, bob: Caller
) -> None:
    mine = alice.generated({"content": SLIDES})
    assert mine["status"] == "ready"
    path = f"/v1/artifacts/{mine['id']}"

    for response in (bob.get(path), bob.delete(path), bob.get(f"/v1/jobs/{mine['job_id']}")):
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    listed = bob.get("/v1/artifacts").json()
    assert listed == {"object": "list", "data": [], "has_more": False}

    # Bob's DELETE removed nothing: it is still Alice's, and still listed for her.
    assert alice.artifact(mine["id"]) == mine
    assert [item["id"] for item in alice.get("/v1/artifacts").json()["data"]] == [mine["id"]]


def test_deleted_artifact_is_404_and_its_job_still_answers(api: ServedApi, alice: Caller) -> None:
    mine = alice.generated({"content": SLIDES})
    path = f"/v1/artifacts/{mine['id']}"

    deleted = alice.delete(path)

    assert deleted.status_code == 200
    assert deleted.json() == {"id": mine["id"], "object": "artifact", "deleted": True}
    for response in (alice.get(path), alice.delete(path)):
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert alice.get("/v1/artifacts").json()["data"] == []
    job = alice.job(mine["job_id"])
    assert (job["status"], job["result"]) == ("completed", {"artifact_id": mine["id"]})
    assert api.count(artifacts) == 0
    assert api.count(jobs) == 1


def test_artifact_deleted_mid_generation_stays_deleted_and_its_job_still_answers(
    make_api: MakeApi, chat: ChatServer
) -> None:
    api = make_api(llm=chat)
    caller = api.caller()
    chat.script(held(2))
    created = caller.create({"prompt": "Tea", "page_count": 2})
    wait_until(lambda: len(chat.received) == 1)  # the worker is generating

    assert caller.delete(f"/v1/artifacts/{created['id']}").status_code == 200
    chat.release.set()
    job = caller.finished_job(created["job_id"])

    assert job["status"] in {"completed", "failed"}
    response = caller.get(f"/v1/artifacts/{created['id']}")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert api.count(artifacts) == 0
    assert caller.job(created["job_id"]) == job
