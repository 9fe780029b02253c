"""The dashboard over plain HTTP, on both databases: sessions, owners, CSRF, headers.

A `Visitor` plays the browser (cookies kept, redirects not followed, so each
step's answer is seen). The module's server runs no worker: a job stays
processing until a test runs one for a moment (`completed_job`).
"""

from __future__ import annotations

import hashlib
import re
from http.cookies import Morsel, SimpleCookie

import httpx
import pytest

from nxdocs.auth.keys import hash_key
from nxdocs.dashboard.security import CONTENT_SECURITY_POLICY
from tests.dashboard.support import Visitor, csrf_of
from tests.support.api import Caller, ServedApi

MARKDOWN = {"content": "# Launch plan\n\nFrom idea to orbit\n\n---\n\n## Goals\n\n- ship\n- learn"}


def queued_job(caller: Caller) -> str:
    """A job that stays processing (no worker runs): an artifact's `artifact.create`.
    The next `completed_job` runs it too: make those first."""
    return str(caller.create(MARKDOWN)["job_id"])


def completed_job(served: ServedApi, caller: Caller) -> dict[str, str]:
    """A ready artifact, made by a worker run for the moment: its id and its job's."""
    with served.worker():
        created = caller.create(MARKDOWN)
        caller.finished_job(created["job_id"])
    return {"artifact_id": created["id"], "job_id": created["job_id"]}


def job_state(served: ServedApi, job_id: str) -> str:
    return str(served.job_row(job_id)["state"])


def session_cookie(response: httpx.Response) -> Morsel[str]:
    """The session cookie the response sets (or deletes)."""
    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookies.load(header)
    return cookies["nxdocs_dashboard"]


def test_a_signed_in_owner_sees_only_their_own_jobs(served: ServedApi, visitor: Visitor) -> None:
    alice, bob = served.caller("alice"), served.caller("bob")
    bobs_done = completed_job(served, bob)
    alices = queued_job(alice)
    bobs = queued_job(bob)
    visitor.sign_in(alice.key)

    for path in ("/dashboard", "/dashboard/jobs/rows", "/dashboard/jobs/rows?status=processing"):
        html = visitor.page(path)
        assert alices in html
        assert bobs not in html
        assert bobs_done["job_id"] not in html
    for path in (
        f"/dashboard/jobs/{bobs}",
        f"/dashboard/jobs/{bobs}/panel",
        f"/dashboard/artifacts/{bobs_done['artifact_id']}",
    ):
        assert visitor.get(path).status_code == 404, path
    preview = visitor.get(f"/dashboard/artifacts/{bobs_done['artifact_id']}/pages/1.png")
    assert preview.status_code == 404
    assert preview.content == b""

    cancel = visitor.post(f"/dashboard/jobs/{bobs}/cancel", {"csrf": visitor.csrf()})

    assert cancel.status_code == 404
    assert job_state(served, bobs) == "queued"
    # Bob's finished job is not in Alice's charts either: her hour holds nothing finished.
    charts = visitor.page("/dashboard/charts")
    assert "0 in the hour" in charts
    assert "1 in the hour" not in charts


def test_the_owner_cancels_a_job_and_sees_it_end(served: ServedApi, visitor: Visitor) -> None:
    alice = served.caller("alice")
    job_id = queued_job(alice)
    visitor.sign_in(alice.key)
    assert "Cancel job" in visitor.page(f"/dashboard/jobs/{job_id}")

    response = visitor.post(f"/dashboard/jobs/{job_id}/cancel", {"csrf": visitor.csrf()})

    assert response.status_code == 303
    assert response.headers["location"] == f"/dashboard/jobs/{job_id}"
    job = alice.job(job_id)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "CANCELLED"
    assert alice.owner_id in job["error"]["message"]
    page = visitor.page(f"/dashboard/jobs/{job_id}")
    assert "CANCELLED" in page
    assert "Cancel job" not in page
    assert "data-final" in page  # the page stops refreshing a finished job
    again = visitor.post(f"/dashboard/jobs/{job_id}/cancel", {"csrf": visitor.csrf()})
    assert again.status_code == 409
    assert "already finished (failed)" in again.text


def test_forms_without_their_csrf_token_are_refused(served: ServedApi, visitor: Visitor) -> None:
    alice = served.caller("alice")
    job_id = queued_job(alice)

    # Sign-in: no token, a token of another browser's form, or no cookie for it.
    assert visitor.post("/dashboard/sign-in", {"key": alice.key}).status_code == 403
    others = Visitor.of(served.base_url)
    foreign = csrf_of(others.page("/dashboard/sign-in"))
    others.close()
    visitor.get("/dashboard/sign-in")
    refused = visitor.post("/dashboard/sign-in", {"key": alice.key, "csrf": foreign})
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers
    assert visitor.get("/dashboard").status_code == 303  # still signed out

    visitor.sign_in(alice.key)
    for form in ({}, {"csrf": ""}, {"csrf": foreign}, {"csrf": "x" * 32}):
        cancel = visitor.post(f"/dashboard/jobs/{job_id}/cancel", form)
        assert cancel.status_code == 403, form
        sign_out = visitor.post("/dashboard/sign-out", form)
        assert sign_out.status_code == 403, form
    assert job_state(served, job_id) == "queued"
    assert visitor.get("/dashboard").status_code == 200  # still signed in


def test_every_dashboard_response_carries_the_strict_headers(
    served: ServedApi, visitor: Visitor
) -> None:
    alice = served.caller("alice")
    done = completed_job(served, alice)
    signed_out = [
        visitor.get("/dashboard"),  # a redirect to the form
        visitor.get("/dashboard/sign-in"),
        visitor.get("/dashboard/static/dashboard.js"),
        visitor.get("/dashboard/static/dashboard.css"),
        visitor.get("/dashboard/nothing-here"),  # no route: the dashboard's 404 page
    ]
    visitor.sign_in(alice.key)
    signed_in = [
        visitor.get("/dashboard"),
        visitor.get("/dashboard/jobs/rows"),
        visitor.get("/dashboard/charts"),
        visitor.get(f"/dashboard/jobs/{done['job_id']}"),
        visitor.get(f"/dashboard/artifacts/{done['artifact_id']}"),
        visitor.get(f"/dashboard/artifacts/{done['artifact_id']}/pages/1.png"),
        visitor.get("/dashboard/artifacts/doc_unknown/pages/0.png"),  # no page: 404
    ]

    assert [r.status_code for r in signed_out] == [303, 200, 200, 200, 404]
    assert [r.status_code for r in signed_in] == [200, 200, 200, 200, 200, 200, 404]
    for response in signed_out + signed_in:
        headers = response.headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, response.url
        assert "default-src 'self'" in CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "cache-control" in headers
    assert signed_in[0].headers["cache-control"] == "no-store"
    # No inline script or style for the policy to refuse: every page uses its files.
    for response in signed_in[:5]:
        assert not re.search(r"<script(?![^>]*\bsrc=)", response.text)
        assert "<style" not in response.text
        assert " style=" not in response.text
    # The API itself is left as it was, and the OpenAPI document knows no dashboard.
    health = visitor.get("/v1/health")
    assert "content-security-policy" not in health.headers
    assert not [
        path for path in visitor.get("/openapi.json").json()["paths"] if "dashboard" in path
    ]


def test_the_key_is_never_in_a_url_a_page_or_the_cookie(
    served: ServedApi, visitor: Visitor
) -> None:
    alice = served.caller("alice")
    done = completed_job(served, alice)
    wrong = visitor.post("/dashboard/sign-in", {"key": alice.key[:-1] + "0", "csrf": "x"})
    assert wrong.status_code == 403

    form = visitor.get("/dashboard/sign-in")
    bad_key = "nxd_" + "A" * 40
    refused = visitor.post("/dashboard/sign-in", {"key": bad_key, "csrf": csrf_of(form.text)})
    assert refused.status_code == 401
    assert "not valid" in refused.text
    assert bad_key not in refused.text
    signed = visitor.sign_in(alice.key)
    for path in (
        "/dashboard",
        "/dashboard/charts",
        f"/dashboard/jobs/{done['job_id']}",
        f"/dashboard/artifacts/{done['artifact_id']}",
    ):
        visitor.page(path)

    cookie = session_cookie(signed)
    assert cookie["httponly"]
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/dashboard"
    assert alice.key not in cookie.value
    assert alice.key[4:] not in cookie.value
    assert len(visitor.seen) >= 8
    for response in visitor.seen:
        assert alice.key not in str(response.request.url)
        assert alice.key not in response.headers.get("location", "")
        assert alice.key not in response.text


def test_signing_out_ends_the_session(served: ServedApi, visitor: Visitor) -> None:
    alice = served.caller("alice")
    visitor.sign_in(alice.key)

    response = visitor.post("/dashboard/sign-out", {"csrf": visitor.csrf()})

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in"
    gone = session_cookie(response)
    assert gone.value in ("", '""')
    assert gone["max-age"] == "0"
    assert "nxdocs_dashboard" not in visitor.http.cookies
    for path in ("/dashboard", "/dashboard/jobs/rows", "/dashboard/charts"):
        after = visitor.get(path)
        assert after.status_code == 303, path
        assert after.headers["location"] == "/dashboard/sign-in"
    assert visitor.get("/dashboard/sign-in").status_code == 200  # the form, not a loop


def opens_dashboard(served: ServedApi, cookie: str) -> int:
    """The status of `GET /dashboard` from a fresh browser holding only this session cookie."""
    other = Visitor.of(served.base_url)
    other.http.cookies.set("nxdocs_dashboard", cookie, domain="127.0.0.1", path="/dashboard")
    try:
        return other.get("/dashboard").status_code
    finally:
        other.close()


def test_a_revoked_keys_session_stops_at_once(served: ServedApi, visitor: Visitor) -> None:
    alice = served.caller("alice")
    visitor.sign_in(alice.key)
    cookie = visitor.http.cookies["nxdocs_dashboard"]
    assert opens_dashboard(served, cookie) == 200  # the cookie alone is the session
    [key] = [key for key in served.system.keys.list() if key.owner_id == alice.owner_id]

    assert served.system.keys.revoke(key.id)

    after = visitor.get("/dashboard/jobs/rows")
    assert after.status_code == 303
    assert after.headers["location"] == "/dashboard/sign-in"
    assert opens_dashboard(served, cookie) == 303  # replayed, it opens nothing either
    form = visitor.get("/dashboard/sign-in")
    again = visitor.post("/dashboard/sign-in", {"key": alice.key, "csrf": csrf_of(form.text)})
    assert again.status_code == 401


def test_a_tampered_session_cookie_is_no_session(served: ServedApi, visitor: Visitor) -> None:
    alice = served.caller("alice")
    visitor.sign_in(alice.key)
    secret = visitor.http.cookies["nxdocs_dashboard"]
    assert opens_dashboard(served, secret) == 200

    forged = [
        secret[:-1] + ("A" if secret[-1] != "A" else "B"),  # another secret of its shape
        secret + "A",
        secret[1:],
        hashlib.sha256(secret.encode()).hexdigest(),  # what the database keeps opens nothing
        hash_key(alice.key),  # nor does the key's digest
        f"{hash_key(alice.key)}.{'0' * 32}.{10**13}.{'0' * 64}",  # a token of the old signed form
        alice.key,  # the key itself is no session either
    ]
    assert [opens_dashboard(served, value) for value in forged] == [303] * len(forged)


def test_the_job_page_shows_payload_result_attempts_and_the_download(
    served: ServedApi, visitor: Visitor
) -> None:
    alice = served.caller("alice")
    done = completed_job(served, alice)
    with served.worker():
        export = alice.export(done["artifact_id"], "pdf")
    assert export["status"] == "completed"
    visitor.sign_in(alice.key)

    page = visitor.page(f"/dashboard/jobs/{export['job_id']}")

    assert export["id"] in page
    assert "export.run" in page
    assert "completed" in page
    assert "1 of 3" in page  # attempts, of max_attempts
    link = re.search(r'<a class="download" href="([^"]+)">', page)
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    download = httpx.get(url)  # no key, no cookie: the signed link alone
    assert download.status_code == 200
    assert download.content.startswith(b"%PDF")
    assert f'href="/dashboard/artifacts/{done["artifact_id"]}"' in page

    artifact = visitor.page(f"/dashboard/artifacts/{done['artifact_id']}")
    assert artifact.count('<img src="/dashboard/artifacts/') == 2
    preview = visitor.get(f"/dashboard/artifacts/{done['artifact_id']}/pages/2.png")
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "image/png"
    assert preview.content.startswith(b"\x89PNG")
    assert preview.headers["cache-control"].startswith("private")
    assert visitor.get(f"/dashboard/artifacts/{done['artifact_id']}/pages/3.png").status_code == 404


def test_the_table_filters_by_status_type_and_time(served: ServedApi, visitor: Visitor) -> None:
    alice = served.caller("alice")
    done = completed_job(served, alice)
    processing = queued_job(alice)
    visitor.sign_in(alice.key)

    def listed(query: str) -> set[str]:
        html = visitor.page(f"/dashboard/jobs/rows?{query}")
        return set(re.findall(r'data-job="(job_[a-z0-9]+)"', html))

    both = {processing, done["job_id"]}
    assert listed("") == both
    assert listed("status=processing") == {processing}
    assert listed("status=completed") == {done["job_id"]}
    assert listed("status=failed") == set()
    assert listed("type=artifact.create") == both
    assert listed("type=export.run") == set()
    assert listed("period=15m") == both
    assert listed("to=2000-01-01T00:00") == set()
    assert listed("from=2000-01-01T00:00&to=2999-01-01T00:00") == both
    assert listed("status=bogus&type=%00&from=yesterday") == both  # dropped, not applied
    # An "older" link to a job gone since, whose id carries no time: the first page again.
    assert listed("after=job_abcdefghijklmnopqrstuvwx") == both
    page = visitor.page("/dashboard?status=completed&period=1h")
    assert '<option value="completed" selected>' in page
    assert 'data-refresh="/dashboard/jobs/rows?status=completed&amp;period=1h"' in page


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/jobs/rows", "/dashboard/charts"])
def test_without_a_session_every_page_leads_to_the_sign_in_form(
    visitor: Visitor, path: str
) -> None:
    response = visitor.get(path)

    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/sign-in"
