"""`GET /v1/embed/{id}`: a signed viewer link for a ready artifact the caller may see."""

from __future__ import annotations

import html
import json
import time
from dataclasses import replace

import httpx
import pytest

from tests.embed.conftest import DECK_PAGES, embed_of, ready_deck
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.artifacts import llm_document
from tests.support.chat_server import ChatServer, Reply
from tests.support.contract import NOT_FOUND, timestamp_ms
from tests.support.waiting import wait_until

WEEK_MS = 7 * 86_400 * 1000


def test_a_ready_artifact_has_a_signed_viewer_link(api: ServedApi, alice: Caller) -> None:
    deck = ready_deck(alice)

    body = embed_of(alice, deck["id"])

    assert list(body) == [
        "document_id",
        "embed_url",
        "iframe_html",
        "title",
        "total_pages",
        "expires_at",
    ]
    assert (body["document_id"], body["title"], body["total_pages"]) == (
        deck["id"],
        "Launch plan",
        DECK_PAGES,
    )
    assert body["embed_url"].startswith(f"{api.base_url}/v1/embed/view/{deck['id']}.theme_")
    assert body["iframe_html"] == (
        f'<iframe src="{body["embed_url"]}" title="Launch plan" width="960" height="600" '
        'style="border: 0; max-width: 100%;" loading="lazy" referrerpolicy="no-referrer">'
        "</iframe>"
    )
    expires = timestamp_ms(body["expires_at"])
    assert abs(expires - (time.time() * 1000 + WEEK_MS)) < 60_000
    # The link itself needs no key.
    viewer = httpx.get(body["embed_url"])
    assert viewer.status_code == 200
    assert viewer.headers["content-type"] == "text/html; charset=utf-8"


def test_each_call_signs_a_link_that_lives_the_setting(make_api: MakeApi) -> None:
    api = make_api(embed_link_seconds=90)
    caller = api.caller()
    deck = ready_deck(caller)

    first = embed_of(caller, deck["id"])
    time.sleep(0.01)
    second = embed_of(caller, deck["id"])

    expires = timestamp_ms(second["expires_at"])
    assert abs(expires - (time.time() * 1000 + 90_000)) < 30_000
    assert second["embed_url"] != first["embed_url"]
    assert {httpx.get(body["embed_url"]).status_code for body in (first, second)} == {200}


def test_the_title_is_escaped_in_the_iframe(api: ServedApi, alice: Caller) -> None:
    name = "\"><script>alert(1)</script> & 'quotes'"
    deck = ready_deck(alice, name=name)

    body = embed_of(alice, deck["id"])

    assert body["title"] == name
    snippet = body["iframe_html"]
    assert f'title="{html.escape(name)}"' in snippet
    assert "<script>" not in snippet
    assert snippet.count('"') == 2 * snippet.count("=")  # every attribute stays one attribute


def test_another_owners_artifact_is_404(api: ServedApi, alice: Caller, bob: Caller) -> None:
    deck = ready_deck(alice)

    response = bob.get(f"/v1/embed/{deck['id']}")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert embed_of(alice, deck["id"])["document_id"] == deck["id"]


@pytest.mark.parametrize(
    "artifact_id",
    [
        "doc_0000000000000000000000000",  # the shape, but no such artifact
        "exp_abcdefghijkl",
        "DOC_ABCDEF",
        "doc_",
        "doc_abc%00def",
        "doc_%C3%A9t%C3%A9",
        "doc_" + "a" * 61,
        "view",
    ],
)
def test_an_unknown_or_wrong_shaped_id_is_404(
    api: ServedApi, alice: Caller, artifact_id: str
) -> None:
    response = alice.get(f"/v1/embed/{artifact_id}")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_the_route_needs_a_key(api: ServedApi, alice: Caller) -> None:
    deck = ready_deck(alice)

    response = api.http.get(f"/v1/embed/{deck['id']}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_a_deleted_artifact_is_404(api: ServedApi, alice: Caller) -> None:
    deck = ready_deck(alice)
    assert alice.delete(f"/v1/artifacts/{deck['id']}").status_code == 200

    response = alice.get(f"/v1/embed/{deck['id']}")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_a_generating_artifact_is_409_until_it_is_ready(
    make_api: MakeApi, chat: ChatServer
) -> None:
    api = make_api(llm=chat)
    caller = api.caller()
    chat.script(replace(Reply.document(llm_document(2, "Tea")), hang=True))
    created = caller.create({"prompt": "Tea", "page_count": 2})
    wait_until(lambda: len(chat.received) == 1)  # the worker is generating

    response = caller.get(f"/v1/embed/{created['id']}")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "CONFLICT"
    assert "still generating" in error["message"]

    chat.release.set()
    assert caller.finished_job(created["job_id"])["status"] == "completed"
    assert embed_of(caller, created["id"])["total_pages"] == 2


def test_a_failed_artifact_is_409(make_api: MakeApi, chat: ChatServer) -> None:
    api = make_api(llm=chat)
    caller = api.caller()
    chat.script(Reply(status=401, body=json.dumps({"error": {"message": "no"}}).encode()))
    created = caller.create({"prompt": "Tea"}, sync=True)
    assert created["status"] == "failed"

    response = caller.get(f"/v1/embed/{created['id']}")

    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "CONFLICT",
        "The artifact failed to generate, so it has no pages to show.",
    )
