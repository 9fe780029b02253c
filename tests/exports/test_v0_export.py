"""The legacy `POST /v0/export/{job_id}?format=...`, end to end, on both databases.

It exports the artifact a completed `artifact.create` job made, with the
machinery of `POST /v1/exports`, and answers in v0's shapes: 200 with the
signed link, 202 with the export's job when the wait runs out, FastAPI's own
422 for a bad `format`, and nxdocs's error body for everything else.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from nxdocs.db.schema import exports
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.contract import NOT_FOUND, timestamp_ms
from tests.support.export_samples import DOCUMENT, PRESENTATION
from tests.support.exports import CONTENT_TYPES, FORMATS
from tests.support.file_readers import pdf_pages, png_pages, pptx_slides


def v0(caller: Caller, job_id: str, fmt: str | None = "pdf") -> httpx.Response:
    params = {} if fmt is None else {"format": fmt}
    return caller.post(f"/v0/export/{job_id}", params=params)


def test_a_completed_job_exports_in_every_format_with_a_working_link(
    api: ServedApi, alice: Caller, anonymous: httpx.Client, subtests: pytest.Subtests
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)  # 10 slides

    for fmt in FORMATS:
        with subtests.test(format=fmt):
            response = v0(alice, artifact["job_id"], fmt)

            assert response.status_code == 200, response.text
            body = response.json()
            assert list(body) == ["download_url", "format", "expires_at"]
            assert body["format"] == fmt
            assert body["download_url"].startswith(f"{api.base_url}/v1/files/exp_")
            assert timestamp_ms(body["expires_at"]) > timestamp_ms(artifact["created_at"])
            download = anonymous.get(body["download_url"])  # no key, as on /v1
            assert download.status_code == 200
            assert download.headers["content-type"] == CONTENT_TYPES[fmt]
            data = download.content
            if fmt == "pdf":
                assert len(pdf_pages(data)) == 10
            elif fmt == "pptx":
                assert len(pptx_slides(data)) == 10
            elif fmt == "png":
                assert len(png_pages(data)) == 10
            else:
                assert data.startswith(b"<!DOCTYPE html>")
    # Each call made one export, of the job's artifact, as POST /v1/exports would.
    assert api.counts() == (len(FORMATS), 1 + len(FORMATS))
    assert alice.ok("/v1/me")["quota"]["document_export_used"] == len(FORMATS)


@pytest.mark.parametrize("sample", [PRESENTATION, DOCUMENT], ids=lambda sample: sample.kind)
def test_google_slides_is_refused_for_every_type_and_creates_nothing(
    api: ServedApi, alice: Caller, sample: Any
) -> None:
    artifact = alice.ready_artifact(sample)
    before = api.counts()

    response = v0(alice, artifact["job_id"], "google-slides")

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [detail["field"] for detail in error["details"]] == ["format"]
    assert "Google" in error["details"][0]["message"]
    assert api.counts() == before


def test_jobs_that_are_not_the_callers_completed_artifact_jobs_are_404(
    api: ServedApi, alice: Caller, bob: Caller
) -> None:
    bobs = bob.ready_artifact(PRESENTATION)
    mine = alice.ready_artifact(PRESENTATION)
    export_job = alice.export(mine["id"], "html")["job_id"]  # an export.run job
    gone = alice.ready_artifact(PRESENTATION)
    assert alice.delete(f"/v1/artifacts/{gone['id']}").status_code == 200
    before = api.counts()

    for job_id in (
        bobs["job_id"],  # another owner's
        export_job,  # not artifact.create
        gone["job_id"],  # its artifact was deleted since
        "job_doesnotexist",
        mine["id"],  # an artifact's id, not a job's
        "job_UPPER",
        "job_" + "a" * 61,
        "job_ab%00cd",  # a NUL
        "job_ab%C3%A9",
    ):
        response = v0(alice, job_id)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), job_id
    assert api.counts() == before
    # Bob may export his own.
    assert v0(bob, bobs["job_id"]).status_code == 200


def test_a_job_that_has_not_completed_is_409(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False)
    alice = api.caller("alice")
    created = alice.create(PRESENTATION)
    before = api.counts()

    processing = v0(alice, created["job_id"])

    assert processing.status_code == 409, processing.text
    assert processing.json()["error"]["code"] == "CONFLICT"
    assert "still processing" in processing.json()["error"]["message"]
    assert int(processing.headers["retry-after"]) >= 1
    assert alice.post(f"/v1/jobs/{created['job_id']}/cancel").status_code == 200
    failed = v0(alice, created["job_id"])
    assert failed.status_code == 409, failed.text
    assert "failed (CANCELLED)" in failed.json()["error"]["message"]
    assert api.counts() == before


def test_an_export_that_outlasts_the_wait_answers_202_with_its_job(make_api: MakeApi) -> None:
    api = make_api(sync_wait_seconds=0, embedded_worker=False)
    alice = api.caller("alice")
    created = alice.create(PRESENTATION)
    with api.worker():
        alice.finished_job(created["job_id"])

    response = v0(alice, created["job_id"], "pptx")  # no worker runs now

    assert response.status_code == 202, response.text
    body = response.json()
    assert list(body) == ["job_id", "export_id", "format", "status"]
    assert (body["format"], body["status"]) == ("pptx", "processing")
    assert re.fullmatch(r"job_[a-z0-9]+", body["job_id"])
    assert int(response.headers["retry-after"]) >= 1
    with api.worker():
        job = alice.finished_job(body["job_id"])
    assert (job["type"], job["result"]) == ("export.run", {"export_id": body["export_id"]})
    export = alice.ok(f"/v1/exports/{body['export_id']}")
    assert (export["status"], export["artifact_id"]) == ("completed", created["id"])


@pytest.mark.parametrize(
    ("query", "error_type"),
    [
        ("", "missing"),
        ("?format=docx", "literal_error"),
        ("?format=PDF", "literal_error"),
        ("?format=", "literal_error"),
        ("?format=pd%00f", "literal_error"),
        ("?fmt=pdf", "missing"),
    ],
)
def test_a_missing_or_unknown_format_is_fastapis_own_422(
    api: ServedApi, alice: Caller, query: str, error_type: str
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)
    before = api.counts()

    response = alice.post(f"/v0/export/{artifact['job_id']}{query}")

    # The contract hook has checked FastAPI's shape; here, what it says.
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["type"]) == (["query", "format"], error_type)
    assert problem["msg"]
    assert api.counts() == before


def test_v0_needs_a_key_like_v1(api: ServedApi, alice: Caller, anonymous: httpx.Client) -> None:
    artifact = alice.ready_artifact(PRESENTATION)
    before = api.counts()
    path = f"/v0/export/{artifact['job_id']}"

    for headers in ({}, {"Authorization": "Bearer nxd_notakey"}):
        response = anonymous.post(f"{api.base_url}{path}?format=pdf", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
        assert response.headers["www-authenticate"] == "Bearer"
    unknown = anonymous.post(f"{api.base_url}/v0/nothing-here")
    assert unknown.status_code == 401  # every /v0 path is behind the key
    assert anonymous.get(f"{api.base_url}/health").status_code == 200
    assert api.counts() == before


def test_the_monthly_export_limit_holds_on_v0(make_api: MakeApi) -> None:
    api = make_api(monthly_export_limit=1)
    alice = api.caller("alice")
    artifact = alice.ready_artifact(PRESENTATION)
    assert v0(alice, artifact["job_id"], "html").status_code == 200

    limited = v0(alice, artifact["job_id"], "html")

    assert limited.status_code == 429, limited.text
    assert limited.json()["error"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["retry-after"]) >= 1


def test_a_job_with_variations_exports_the_artifact_it_answered_with(
    api: ServedApi, alice: Caller
) -> None:
    asked = alice.ready_artifact({**PRESENTATION.request(), "variations": 2})

    response = v0(alice, asked["job_id"], "html")

    assert response.status_code == 200, response.text
    [export] = api.rows(exports)
    assert export["artifact_id"] == asked["id"]
