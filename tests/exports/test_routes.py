"""The export routes: create (async and sync), get, google-slides, bad input, the monthly quota.

Every test runs on SQLite and on PostgreSQL, with the real handlers.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from nxdocs.db.schema import exports
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.clock import ManualClock
from tests.support.contract import NOT_FOUND, timestamp_ms
from tests.support.export_samples import PRESENTATION
from tests.support.exports import assert_hosted_export
from tests.support.waiting import wait_until


def test_async_create_answers_202_processing_and_the_job_names_the_export(
    api: ServedApi, alice: Caller
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)

    created = alice.export_async(artifact["id"], "pdf")

    assert_hosted_export(created, "processing")
    assert (created["artifact_id"], created["format"]) == (artifact["id"], "pdf")
    assert "google_slides_presentation_id" not in created
    job = alice.finished_job(created["job_id"])
    assert (job["type"], job["status"], job["error"]) == ("export.run", "completed", None)
    assert job["result"] == {"export_id": created["id"]}
    assert job["result"]["export_id"].startswith("exp_")

    export = alice.ok(f"/v1/exports/{created['id']}")
    assert_hosted_export(export, "completed", base_url=api.base_url)
    assert "google_slides_presentation_id" not in export
    assert (export["id"], export["job_id"], export["created_at"]) == (
        created["id"],
        created["job_id"],
        created["created_at"],
    )
    assert export["content"] is None  # inline content is for html exports only
    assert export["pages_exported"] == 10


def test_sync_create_answers_201_with_the_finished_export(api: ServedApi, alice: Caller) -> None:
    artifact = alice.ready_artifact(PRESENTATION)

    response = alice.post("/v1/exports", json={"artifact_id": artifact["id"], "format": "html"})

    assert response.status_code == 201, response.text
    export = response.json()
    assert_hosted_export(export, "completed", base_url=api.base_url)
    assert export["content"].startswith("<!DOCTYPE html>")
    assert alice.ok(f"/v1/exports/{export['id']}") | {"download_url": None, "expires_at": None} == (
        export | {"download_url": None, "expires_at": None}
    )


def test_sync_create_answers_202_when_the_bounded_wait_runs_out(make_api: MakeApi) -> None:
    # No worker runs until the block below, so the job cannot finish within the wait.
    api = make_api(sync_wait_seconds=0, embedded_worker=False)
    alice = api.caller("alice")
    artifact = alice.create(PRESENTATION)

    response = alice.post("/v1/exports", json={"artifact_id": artifact["id"], "format": "pptx"})

    assert response.status_code == 202, response.text
    export = response.json()
    assert_hosted_export(export, "processing")
    with api.worker():
        job = alice.finished_job(export["job_id"])
    assert job["result"] == {"export_id": export["id"]}
    assert_hosted_export(
        alice.ok(f"/v1/exports/{export['id']}"), "completed", base_url=api.base_url
    )


def test_another_owner_cannot_see_an_export(alice: Caller, bob: Caller) -> None:
    artifact = alice.ready_artifact(PRESENTATION)
    export = alice.export(artifact["id"], "html")

    for path in (f"/v1/exports/{export['id']}", f"/v1/jobs/{export['job_id']}"):
        response = bob.get(path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path
    response = alice.get("/v1/exports/exp_doesnotexist")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_google_slides_without_a_google_account_fails_as_data(
    api: ServedApi, alice: Caller, sync: bool
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)
    body = {"artifact_id": artifact["id"], "format": "google-slides"}

    response = alice.post("/v1/exports" if sync else "/v1/exports/async", json=body)

    assert response.status_code == (201 if sync else 202), response.text
    job = alice.finished_job(response.json()["job_id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "GOOGLE_AUTH_REQUIRED"
    assert job["result"] is None
    export = alice.ok(f"/v1/exports/{response.json()['id']}")
    assert_hosted_export(export, "failed")
    assert export["google_slides_presentation_id"] is None
    assert export["error"] == job["error"]
    assert (export["content_type"], export["file_name"], export["pages_exported"]) == (
        None,
        None,
        None,
    )
    if sync:
        assert response.json() == export
    # A missing account is not worth retrying.
    assert api.job_row(job["id"])["attempts"] == 1


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("unknown format", {"format": "docx"}, "format"),
    ("format in capitals", {"format": "PDF"}, "format"),
    ("format not a string", {"format": ["pdf"]}, "format"),
    ("format missing", {"format": None}, "format"),
    ("artifact_id not a string", {"artifact_id": 5}, "artifact_id"),
    ("artifact_id missing", {"artifact_id": None}, "artifact_id"),
    ("artifact_id empty", {"artifact_id": ""}, "artifact_id"),
    ("page beyond the last", {"pages": [11]}, "pages"),
    ("pages partly beyond", {"pages": [2, 11, 12]}, "pages"),
    ("page repeated", {"pages": [2, 2]}, "pages"),
    ("page zero", {"pages": [0]}, "pages[0]"),
    ("negative page", {"pages": [-1]}, "pages[0]"),
    ("no pages", {"pages": []}, "pages"),
    ("pages not a list", {"pages": "2"}, "pages"),
    ("page as a string", {"pages": ["2"]}, "pages[0]"),
    ("page as a float", {"pages": [1.5]}, "pages[0]"),
    ("page as a boolean", {"pages": [True]}, "pages[0]"),
]


def test_bad_input_is_a_clean_400_and_creates_nothing(
    api: ServedApi, alice: Caller, subtests: pytest.Subtests
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)  # 10 slides
    before = api.counts()

    for name, change, field in BAD_BODIES:
        with subtests.test(name):
            body = {"artifact_id": artifact["id"], "format": "pdf", **change}
            body = {key: value for key, value in body.items() if value is not None}
            for path in ("/v1/exports", "/v1/exports/async"):
                response = alice.post(path, json=body)
                assert response.status_code == 400, (path, response.text)
                error = response.json()["error"]
                assert error["code"] == "VALIDATION_ERROR"
                assert field in [detail["field"] for detail in error["details"]], error
    with subtests.test("not a JSON object"):
        response = alice.post("/v1/exports", json=["pdf"])
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"

    assert api.counts() == before


def test_unknown_or_foreign_artifacts_are_404_and_create_nothing(
    api: ServedApi, alice: Caller, bob: Caller
) -> None:
    bobs = bob.ready_artifact(PRESENTATION)
    before = api.counts()

    for artifact_id in (bobs["id"], "doc_doesnotexist"):
        for path in ("/v1/exports", "/v1/exports/async"):
            response = alice.post(path, json={"artifact_id": artifact_id, "format": "pdf"})
            assert (response.status_code, response.json()) == (404, NOT_FOUND), path
    response = alice.http.post(
        "/v1/exports", json={"artifact_id": bobs["id"], "format": "pdf"}
    )  # no key at all
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"

    assert api.counts() == before


def quota(caller: Caller) -> dict[str, Any]:
    me = caller.ok("/v1/me")
    assert me["object"] == "user"
    found: dict[str, Any] = me["quota"]
    return found


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_me_counts_the_exports_created_this_month(make_api: MakeApi) -> None:
    clock = ManualClock(ms("2026-03-31T23:58:00"))
    api = make_api(clock=clock)
    alice, bob = api.caller("alice"), api.caller("bob")
    assert quota(alice) | quota(bob) == quota(alice)
    assert (quota(alice)["document_export_used"], quota(alice)["document_export_limit"]) == (
        0,
        1000,
    )
    artifact = alice.ready_artifact(PRESENTATION)

    alice.export(artifact["id"], "pptx")
    alice.finished_job(alice.export_async(artifact["id"], "html")["job_id"])
    failed = alice.post(
        "/v1/exports", json={"artifact_id": artifact["id"], "format": "google-slides"}
    )
    assert failed.json()["status"] == "failed"  # a failed export counts too: it was created

    assert quota(alice)["document_export_used"] == 3
    assert quota(alice)["document_export_limit"] == 1000
    assert quota(alice)["reset_date"] == "2026-04-01T00:00:00.000Z"
    assert quota(bob)["document_export_used"] == 0
    # Past midnight UTC on the 1st, last month's exports no longer count.
    clock.advance(180)
    assert quota(alice)["document_export_used"] == 0
    assert quota(alice)["reset_date"] == "2026-05-01T00:00:00.000Z"
    alice.export(artifact["id"], "html")
    assert quota(alice)["document_export_used"] == 1


def test_the_monthly_export_limit_answers_429_and_creates_nothing(make_api: MakeApi) -> None:
    clock = ManualClock(ms("2026-06-30T23:50:00"))
    api = make_api(clock=clock, monthly_export_limit=1)
    alice, bob = api.caller("alice"), api.caller("bob")
    artifact = alice.ready_artifact(PRESENTATION)
    alice.export(artifact["id"], "html")
    before = api.counts()

    for path in ("/v1/exports", "/v1/exports/async"):
        response = alice.post(path, json={"artifact_id": artifact["id"], "format": "pdf"})
        assert response.status_code == 429, response.text
        assert response.json()["error"]["code"] == "RATE_LIMITED"

    assert api.counts() == before
    assert (quota(alice)["document_export_used"], quota(alice)["document_export_limit"]) == (1, 1)
    # The limit is per owner, and per calendar month.
    bob.export(bob.ready_artifact(PRESENTATION)["id"], "html")
    clock.advance(11 * 60)
    alice.export(artifact["id"], "html")
    assert quota(alice)["document_export_used"] == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # HTTP only, no storage
def test_the_quota_429_says_when_to_retry(make_api: MakeApi) -> None:
    api = make_api(monthly_export_limit=0)
    alice = api.caller("alice")
    artifact = alice.ready_artifact(PRESENTATION)

    response = alice.post("/v1/exports", json={"artifact_id": artifact["id"], "format": "pdf"})

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1


def test_parallel_creates_cannot_overrun_the_monthly_limit(make_api: MakeApi) -> None:
    api = make_api(monthly_export_limit=1)
    alice = api.caller("alice")
    artifact = alice.ready_artifact(PRESENTATION)
    body = {"artifact_id": artifact["id"], "format": "html"}

    together = threading.Barrier(8)

    def create(_: int) -> httpx.Response:
        together.wait()
        return alice.post("/v1/exports/async", json=body)

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(create, range(8)))

    assert sorted(response.status_code for response in codes) == [202] + [429] * 7
    assert api.count(exports) == 1


def test_pages_beyond_an_artifact_still_generating_fail_in_the_job(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False)
    alice = api.caller("alice")
    artifact = alice.create(PRESENTATION)  # no worker yet: still generating

    created = alice.export_async(artifact["id"], "pdf", pages=[3, 12])
    with api.worker():
        job = alice.finished_job(created["job_id"])

    assert job["error"]["code"] == "PAGES_OUT_OF_RANGE"
    export = alice.ok(f"/v1/exports/{created['id']}")
    assert_hosted_export(export, "failed")
    assert export["error"] == job["error"]
    assert api.export_files(created["id"]) == []
    assert api.count(exports) == 1
    wait_until(lambda: alice.ok(f"/v1/artifacts/{artifact['id']}")["status"] == "ready")
    assert timestamp_ms(export["updated_at"]) >= timestamp_ms(export["created_at"])
