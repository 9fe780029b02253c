"""Variations: one create, one `artifact.create` job, several complete artifacts.

Each variation is an artifact of its own (get, list, export, delete), listed on
the artifact the create answered with. Without a language model they differ in
theme and layout; with one, each is a separate answer. Every test runs on
SQLite and on PostgreSQL, with the real handlers.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from nxdocs.artifacts.model import FAILED, READY
from nxdocs.artifacts.store import NewArtifact
from nxdocs.db.schema import artifacts, jobs
from nxdocs.generate import GeneratedArtifact
from nxdocs.jobs.errors import LeaseLostError
from nxdocs.jobs.execute import RunningJob
from nxdocs.pages import Document
from nxdocs.render.themes import BUILTIN_THEMES
from nxdocs.system import System
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.artifacts import assert_hosted_artifact, llm_document
from tests.support.attempts import LEASE, TIMEOUT, claim
from tests.support.chat_server import MODEL, ChatServer, Reply
from tests.support.contract import NOT_FOUND
from tests.support.file_readers import pdf_pages
from tests.support.jobs import set_row

DECK = (
    "# Tide Tables\n\nReading the sea\n\n---\n\n"
    "## Why tides\n\n- The moon pulls\n- The sun pulls less\n  - About half as much\n\n---\n\n"
    "## Planning\n\n- Check the table\n- Pick the hour\n\nNotes: Mention the spring tides."
)
LAYOUTS = ["standard", "numbered", "table", "spotlight"]
ROUTES = ("/v1/artifacts", "/v1/artifacts/async")


def variation_ids(artifact: dict[str, Any]) -> list[str]:
    return [variation["id"] for variation in artifact["variations"]]


def html_of(caller: Caller, artifact_id: str) -> str:
    export = caller.export(artifact_id, "html")
    assert export["status"] == "completed", export
    content: str = export["content"]
    return content


@pytest.mark.parametrize("value", [0, 5, -1, "2", True, 2.5, None, [2]])
def test_variations_outside_1_to_4_or_not_an_integer_are_400_and_create_nothing(
    api: ServedApi, alice: Caller, value: object
) -> None:
    for route in ROUTES:
        response = alice.post(route, json={"content": DECK, "variations": value})
        assert response.status_code == 400, (route, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert [detail["field"] for detail in error["details"]] == ["variations"]
    assert (api.count(artifacts), api.count(jobs)) == (0, 0)


def test_without_variations_an_artifact_lists_none_and_its_job_names_it_alone(
    alice: Caller,
) -> None:
    created = alice.ready_artifact({"content": DECK})

    assert (created["variations"], created["variation_of"], created["variation"]) == (
        [],
        None,
        None,
    )
    assert alice.job(created["job_id"])["result"] == {"artifact_id": created["id"]}
    assert created["generation"] == {"generator": "markdown"}


def test_one_job_makes_four_ready_artifacts_each_with_its_theme_and_layout(
    api: ServedApi, alice: Caller
) -> None:
    body = {"content": DECK, "theme_id": "theme_ocean", "variations": 4}

    asked = alice.ready_artifact(body)  # the sync create answers with the one asked for

    assert_hosted_artifact(asked, "ready")
    assert (asked["variation"], asked["variation_of"]) == (1, None)
    ids = [asked["id"], *variation_ids(asked)]
    assert len(set(ids)) == 4
    assert [(v["variation"], v["status"], v["page_count"]) for v in asked["variations"]] == [
        (2, "ready", 3),
        (3, "ready", 3),
        (4, "ready", 3),
    ]
    # One job made them all, and says so (additively) in its result.
    assert (api.count(artifacts), api.count(jobs)) == (4, 1)
    job = alice.job(asked["job_id"])
    assert job["result"] == {"artifact_id": asked["id"], "variation_ids": ids[1:]}
    assert job["progress"] == {"done": 12, "total": 12}  # pages across the variations

    shown = [alice.artifact(artifact_id) for artifact_id in ids]
    assert shown[0] == asked
    themes = [artifact["theme_id"] for artifact in shown]
    assert themes[0] == "theme_ocean"  # the first keeps the requested theme
    assert len(set(themes)) == 4
    assert set(themes) <= set(BUILTIN_THEMES)
    for number, artifact in enumerate(shown[1:], start=2):
        assert_hosted_artifact(artifact, "ready")
        assert (artifact["variation_of"], artifact["variation"]) == (asked["id"], number)
        assert (artifact["variations"], artifact["job_id"]) == ([], asked["job_id"])
        assert asked["variations"][number - 2]["theme_id"] == artifact["theme_id"]
    assert [artifact["generation"] for artifact in shown] == [
        {"generator": "markdown", "layout": layout} for layout in LAYOUTS
    ]
    # Variations are artifacts: listed too, right after the one asked for.
    listed = alice.ok("/v1/artifacts")["data"]
    assert [item["id"] for item in listed] == ids
    assert listed == shown

    # Each layout shows in the exported file, in the variation's own theme.
    html = [html_of(alice, artifact_id) for artifact_id in ids]
    for page, theme_id in zip(html, themes, strict=True):
        assert f"background: {BUILTIN_THEMES[theme_id].colors.background}" in page
    standard, numbered, table, spotlight = html
    assert ("<ul>" in standard, "<ol>" in standard, "<table>" in standard) == (True, False, False)
    assert ("<ul>" in numbered, "<ol>" in numbered) == (False, True)
    assert ("<ul>" in table, "<table>" in table) == (False, True)
    assert "<td>2.1</td><td>About half as much</td>" in table  # nested points numbered
    assert 'class="page page-cover"' in standard
    assert 'class="page page-cover"' not in spotlight
    assert "<blockquote>\n<p>Reading the sea</p>" in spotlight
    assert spotlight.count('class="title"') == 3  # every slide opens with a big title
    # The same pages, with the same notes, in each.
    documents = [api.system.artifacts.document(artifact_id) for artifact_id in ids]
    notes = {tuple(page.notes for page in document.pages) for document in documents if document}
    assert notes == {(None, None, "Mention the spring tides.")}


def test_a_variation_exports_to_pdf(alice: Caller) -> None:
    asked = alice.ready_artifact({"content": DECK, "variations": 2})
    [second] = variation_ids(asked)

    export = alice.export(second, "pdf")

    assert (export["status"], export["artifact_id"], export["pages_exported"]) == (
        "completed",
        second,
        3,
    )
    download = alice.http.get(export["download_url"])  # no key
    assert download.status_code == 200
    pages = pdf_pages(download.content)
    assert len(pages) == 3
    assert "The moon pulls" in pages[1], pages[1]


def test_an_outline_makes_variations_of_exactly_page_count_pages(alice: Caller) -> None:
    asked = alice.ready_artifact(
        {"prompt": "Tides: moon, sun, harbours", "page_count": 4, "variations": 3}
    )

    assert asked["page_count"] == 4
    assert [v["page_count"] for v in asked["variations"]] == [4, 4]
    generations = [alice.artifact(v["id"])["generation"] for v in asked["variations"]]
    assert generations == [
        {"generator": "outline", "model": "none", "layout": "numbered"},
        {"generator": "outline", "model": "none", "layout": "table"},
    ]


def test_deleting_the_artifact_deletes_its_variations_and_their_exports(
    api: ServedApi, alice: Caller
) -> None:
    asked = alice.ready_artifact({"content": DECK, "variations": 3})
    second, third = variation_ids(asked)
    exports = [alice.export(artifact_id, "html") for artifact_id in (asked["id"], second)]

    deleted = alice.delete(f"/v1/artifacts/{asked['id']}")

    assert deleted.status_code == 200
    assert deleted.json() == {"id": asked["id"], "object": "artifact", "deleted": True}
    for artifact_id in (asked["id"], second, third):
        response = alice.get(f"/v1/artifacts/{artifact_id}")
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    for export in exports:
        response = alice.get(f"/v1/exports/{export['id']}")
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
        assert alice.http.get(export["download_url"]).status_code == 410
    assert alice.ok("/v1/artifacts")["data"] == []
    assert api.count(artifacts) == 0
    assert alice.job(asked["job_id"])["status"] == "completed"


def test_deleting_a_variation_removes_just_it(api: ServedApi, alice: Caller) -> None:
    asked = alice.ready_artifact({"content": DECK, "variations": 3})
    second, third = variation_ids(asked)
    kept = alice.export(asked["id"], "html")

    assert alice.delete(f"/v1/artifacts/{third}").status_code == 200

    assert alice.get(f"/v1/artifacts/{third}").status_code == 404
    assert variation_ids(alice.artifact(asked["id"])) == [second]
    assert alice.artifact(second)["variation_of"] == asked["id"]
    assert alice.ok(f"/v1/exports/{kept['id']}")["status"] == "completed"
    assert api.count(artifacts) == 2


def test_another_owner_sees_no_variation(alice: Caller, bob: Caller) -> None:
    asked = alice.ready_artifact({"content": DECK, "variations": 2})
    [second] = variation_ids(asked)

    for path in (f"/v1/artifacts/{second}", f"/v1/artifacts/{asked['id']}"):
        assert (bob.get(path).status_code, bob.get(path).json()) == (404, NOT_FOUND)
    assert bob.delete(f"/v1/artifacts/{second}").status_code == 404
    assert bob.ok("/v1/artifacts")["data"] == []
    assert alice.artifact(second)["status"] == "ready"


def test_cancelling_the_job_before_it_runs_fails_every_variation(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False)
    alice = api.caller("alice")
    asked = alice.create({"content": DECK, "variations": 3})
    assert [v["status"] for v in asked["variations"]] == ["generating", "generating"]

    response = alice.post(f"/v1/jobs/{asked['job_id']}/cancel")

    assert response.status_code == 200, response.text
    error = response.json()["error"]
    assert error["code"] == "CANCELLED"
    shown = alice.artifact(asked["id"])
    assert [v["status"] for v in shown["variations"]] == ["failed", "failed"]
    for artifact_id in (asked["id"], *variation_ids(asked)):
        artifact = alice.artifact(artifact_id)
        assert_hosted_artifact(artifact, "failed")
        assert artifact["error"] == error
    with api.worker():
        # The worker drains the queue past the cancelled job without running it.
        alice.generated({"content": DECK})
    assert api.job_row(asked["job_id"])["attempts"] == 0
    assert alice.artifact(asked["id"])["status"] == "failed"
    assert api.system.artifacts.document(asked["id"]) is None


def test_the_language_model_answers_each_variation_separately(
    make_api: MakeApi, chat: ChatServer
) -> None:
    api = make_api(llm=chat)
    alice = api.caller()
    titles = ["Ebb", "Flow", "Slack"]
    chat.script(*(Reply.document(llm_document(2, title)) for title in titles))

    asked = alice.generated(
        {"prompt": "A short deck about tides", "page_count": 2, "variations": 3}
    )

    assert len(chat.received) == 3  # one call per variation
    for number, sent in enumerate(chat.received, start=1):
        system, user = sent.body["messages"]
        assert f"variation {number} of 3" in system["content"]
        assert user == {"role": "user", "content": "A short deck about tides"}
    ids = [asked["id"], *variation_ids(asked)]
    documents = [api.system.artifacts.document(artifact_id) for artifact_id in ids]
    assert documents == [Document.model_validate(llm_document(2, title)) for title in titles]
    shown = [alice.artifact(artifact_id) for artifact_id in ids]
    assert [artifact["status"] for artifact in shown] == ["ready"] * 3
    assert [artifact["name"] for artifact in shown] == ["Ebb 1", "Flow 1", "Slack 1"]
    assert len({artifact["theme_id"] for artifact in shown}) == 3
    assert all(artifact["generation"] == {"generator": "llm", "model": MODEL} for artifact in shown)


def test_a_list_reads_the_variations_of_a_whole_page_in_one_query(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False)  # no worker reading artifacts meanwhile
    alice = api.caller("alice")
    store = api.system.artifacts
    for count in (1, 2, 3, 4):
        alice.create({"content": DECK, "variations": count})
    statements: list[str] = []

    def record(*args: Any) -> None:
        if "FROM artifacts" in args[2]:
            statements.append(args[2])

    sa.event.listen(api.system.engine, "before_cursor_execute", record)
    try:
        page, _ = store.list(alice.owner_id, limit=20, after=None)
        listed = len(statements)
        plain = next(artifact for artifact in page if artifact.variation is None)
        statements.clear()
        store.get({alice.owner_id}, plain.id)
        plain_get = len(statements)
    finally:
        sa.event.remove(api.system.engine, "before_cursor_execute", record)

    assert len(page) == 10
    assert sorted(len(artifact.variations) for artifact in page if artifact.variation == 1) == [
        1,
        2,
        3,
    ]
    # The page, then the variations of all three that have any; a get of one
    # without variations reads only its row.
    assert (listed, plain_get) == (2, 1)


# --- fencing: the real handler, one attempt at a time, without a worker --------------------------


class PausedBeforeItsWrites(RunningJob):
    """An attempt that last heard from the database before the takeover."""

    def heartbeat(self) -> None:
        pass

    def report_progress(self, done: int, total: int) -> None:
        pass

    def lease_lost(self) -> bool:
        return False


def test_a_stale_attempt_cannot_overwrite_any_variation(real: System) -> None:
    owner = real.keys.create("fence").owner_id
    new = NewArtifact(
        owner_id=owner,
        name="Fencing",
        type="presentation",
        prompt=None,
        content=DECK,
        page_count=None,
        brand_id=None,
        theme_id=None,
        ai_instruction=None,
        named_by_client=True,
        variations=3,
    )
    asked = real.artifacts.create(new)
    ids = [asked.id, *(variation.id for variation in asked.variations)]
    stale = claim(real, "w1")
    # What a reaper elsewhere does once the lease has expired.
    set_row(real, stale.job.id, state="queued", worker_id=None, lease_expires_at=None)
    fresh = claim(real, "w2")
    assert fresh.job.attempt == 2
    result = real.registry.get(fresh.job.type).run(fresh.job, fresh)
    assert real.store.complete(fresh.job, fresh.worker_id, result)
    kept = [real.artifacts.document(artifact_id) for artifact_id in ids]

    # Told by its first heartbeat that the job is gone, it stops...
    with pytest.raises(LeaseLostError):
        real.registry.get(stale.job.type).run(stale.job, stale)
    # ...and one that never heard gets as far as its first write, which is refused.
    paused = PausedBeforeItsWrites(stale.job, "w1", real.store, LEASE, TIMEOUT, time.monotonic())
    with pytest.raises(LeaseLostError):
        real.registry.get(stale.job.type).run(stale.job, paused)
    for artifact_id, document in zip(ids, kept, strict=True):
        assert document is not None
        other = GeneratedArtifact(document.model_copy(update={"title": "stale"}), "stale", {})
        assert not real.artifacts.save_generated(stale.fence, artifact_id, other)

    shown = [real.artifacts.get({owner}, artifact_id) for artifact_id in ids]
    assert [(a.status, a.name) for a in shown if a] == [(READY, "Fencing")] * 3
    assert [real.artifacts.document(artifact_id) for artifact_id in ids] == kept
    assert FAILED not in {a.status for a in shown if a}
