"""Dashboard sessions as rows on the server, over HTTP on both databases.

Signing out ends the session everywhere (a copied cookie opens nothing
after), a session ends at its expiry and the worker's purge deletes it (time
moved by an injected clock, not waited for), and sign-in attempts are limited
per client address before any key is looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nxdocs.auth.keys import hash_key
from nxdocs.auth.sessions import SESSION_SECONDS
from nxdocs.dashboard.sign_in import SIGN_IN_BURST, SIGN_IN_PER_SECOND
from nxdocs.db.schema import dashboard_sessions
from tests.dashboard.support import Visitor, csrf_of, loopback_address
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.clock import ManualClock
from tests.support.waiting import wait_until

COOKIE = "nxdocs_dashboard"


def session_rows(served: ServedApi, caller: Caller) -> list[dict[str, Any]]:
    """The session rows of the caller's key."""
    digest = hash_key(caller.key)
    return [row for row in served.rows(dashboard_sessions) if row["key_digest"] == digest]


@contextmanager
def holding(served: ServedApi, cookie: str) -> Iterator[Visitor]:
    """Another browser, on another address, holding only this session cookie."""
    other = Visitor.of(served.base_url)
    other.http.cookies.set(COOKIE, cookie, domain="127.0.0.1", path="/dashboard")
    try:
        yield other
    finally:
        other.close()


def opens(served: ServedApi, cookie: str) -> bool:
    """Whether `GET /dashboard` with only this cookie is the page (not the way to sign in)."""
    with holding(served, cookie) as other:
        response = other.get("/dashboard")
    if response.status_code == 303:
        assert response.headers["location"] == "/dashboard/sign-in"
        return False
    assert response.status_code == 200, response.status_code
    return True


def test_a_cookie_copied_before_signing_out_opens_nothing_after_it(
    served: ServedApi, visitor: Visitor
) -> None:
    alice = served.caller("alice")
    visitor.sign_in(alice.key)
    copied = visitor.http.cookies[COOKIE]
    csrf = visitor.csrf()
    assert opens(served, copied)  # the copy works exactly as the original
    [row] = session_rows(served, alice)
    assert copied not in row.values()  # the server keeps the secret's digest only

    signed_out = visitor.post("/dashboard/sign-out", {"csrf": csrf})

    assert signed_out.status_code == 303
    assert session_rows(served, alice) == []
    assert not opens(served, copied)
    with holding(served, copied) as thief:  # nor does the copy post anything
        for path in ("/dashboard/sign-out", "/dashboard/jobs/job_x/cancel"):
            replayed = thief.post(path, {"csrf": csrf})
            assert replayed.status_code == 303, path
            assert replayed.headers["location"] == "/dashboard/sign-in"


def test_each_browser_has_its_own_session(served: ServedApi) -> None:
    alice = served.caller("alice")
    laptop, phone = Visitor.of(served.base_url), Visitor.of(served.base_url)
    try:
        laptop.sign_in(alice.key)
        phone.sign_in(alice.key)
        assert laptop.http.cookies[COOKIE] != phone.http.cookies[COOKIE]
        assert laptop.csrf() != phone.csrf()
        assert len(session_rows(served, alice)) == 2

        # Signing out of one leaves the other signed in.
        assert laptop.post("/dashboard/sign-out", {"csrf": laptop.csrf()}).status_code == 303
        assert phone.get("/dashboard").status_code == 200
        assert len(session_rows(served, alice)) == 1
    finally:
        laptop.close()
        phone.close()


def test_the_eleventh_rapid_sign_in_from_one_address_is_refused_unread(
    make_api: MakeApi,
) -> None:
    clock = ManualClock()  # stands still: the burst is used up however slow the machine
    served = make_api(clock=clock, embedded_worker=False)
    alice = served.caller("alice")
    address = loopback_address()
    visitor = Visitor.of(served.base_url, address)
    csrf = csrf_of(visitor.page("/dashboard/sign-in"))
    for _ in range(SIGN_IN_BURST):
        refused = visitor.post("/dashboard/sign-in", {"key": "nxd_" + "B" * 40, "csrf": csrf})
        assert refused.status_code == 401
        csrf = csrf_of(refused.text)

    # A valid key now: had it been looked up, this would be a session.
    limited = visitor.post("/dashboard/sign-in", {"key": alice.key, "csrf": csrf})
    unchecked = visitor.post("/dashboard/sign-in", {"key": alice.key})  # no token even
    for response in (limited, unchecked):
        assert response.status_code == 429
        wait = int(response.headers["retry-after"])
        assert wait == round(1 / SIGN_IN_PER_SECOND)
        assert f"Too many sign-in attempts; try again in {wait} seconds." in response.text
        assert '<form method="post" action="/dashboard/sign-in">' in response.text
    assert COOKIE not in visitor.http.cookies
    assert session_rows(served, alice) == []
    assert visitor.get("/dashboard/sign-in").status_code == 200  # the form itself is not limited

    # Another address has an allowance of its own.
    elsewhere = Visitor.of(served.base_url)
    elsewhere.sign_in(alice.key)
    assert elsewhere.get("/dashboard").status_code == 200
    elsewhere.close()

    # One attempt more for each interval waited.
    clock.advance(1 / SIGN_IN_PER_SECOND)
    visitor.sign_in(alice.key)
    assert visitor.get("/dashboard").status_code == 200
    assert len(session_rows(served, alice)) == 2
    visitor.close()


def test_an_expired_session_is_refused_and_the_worker_purges_it(make_api: MakeApi) -> None:
    clock = ManualClock()
    # The embedded worker runs maintenance; its interval is measured on `clock`.
    api = make_api(clock=clock, purge_interval_seconds=60)
    alice = api.caller("alice")
    early, late = Visitor.of(api.base_url), Visitor.of(api.base_url)
    try:
        early.sign_in(alice.key)
        clock.advance(3600)
        late.sign_in(alice.key)
        assert len(session_rows(api, alice)) == 2
        clock.advance(SESSION_SECONDS - 3600)  # the early session's end, to the millisecond

        ended = early.get("/dashboard")
        assert ended.status_code == 303
        assert ended.headers["location"] == "/dashboard/sign-in"
        assert late.get("/dashboard").status_code == 200

        wait_until(lambda: len(session_rows(api, alice)) == 1, timeout=30)
        [kept] = session_rows(api, alice)
        assert kept["expires_at"] == clock.now_ms() + 3600 * 1000
    finally:
        early.close()
        late.close()
