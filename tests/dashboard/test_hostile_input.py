"""Hostile input to the dashboard gets a clear answer, never a 500, on SQLite and PostgreSQL.

Every input of /dashboard is attacked, signed in and signed out: the jobs
table's filters (status, type, period, from, to, after), the path segments
(job and artifact ids, preview page numbers), paths and methods no route
takes, the forms' bodies (sign in, sign out, cancel: missing, repeated and
odd fields, bodies that are not a JSON object, every Content-Type, bodies too
large), the cookies (the session's and the sign-in form's, of every wrong
shape), the client address a trusted proxy names, and text stored through
the API that the pages show. The hostile text: NUL bytes, lone surrogates
(which reach a URL only as the invalid UTF-8 `%ED%B3%BF`, and a JSON body as
a `\\udfff` escape), broken percent-escapes (`%FF`), control characters,
markup, SQL, ids of the wrong shape, absurd lengths. `test_arbitrary_text_*`
then sends what Hypothesis makes of `st.text()` and of arbitrary bytes.

What the dashboard answers (and `assert_clean` checks of every answer: below
500, no traceback, SQL or secret in it, and the dashboard's headers):
- a filter value the form would never send is ignored: 200, the table as if
  that filter were not there (`nxdocs.dashboard.filters`);
- an id of the wrong shape is a 404 page, like an id that is not yours; a
  preview page that is no page number 1-200 is a 404 without a body (an image);
- a path no route takes is a 404 page, a method a path does not take a 405
  page naming the methods it does take;
- a form body that is not a JSON object of short strings has no CSRF token:
  403, nothing done; a body over `MAX_FORM_BYTES` is a 413 page;
- a session cookie of any other shape is no session: the sign-in form.
Two refusals come from outside the dashboard: a body that is not JSON (415)
or over `--max-request-bytes` (413) is refused by the app's body limits
before any route, in the API's JSON; a request HTTP itself forbids (NUL or
raw non-ASCII bytes in its request line or a header, a URL past 64 KiB) gets
uvicorn's plain-text 400. (The body limits' refusals also lack the
dashboard's headers: `test_the_body_limits_refusals_carry_the_dashboard_headers`
is expected to fail until the app puts them outside.) Whatever happens, the
server logs no traceback and no line that is not one escaped line (`server_log`).

`FUZZ_EXAMPLES` (25 by default) bounds each Hypothesis test; its examples are
derandomized, so a run is reproducible:

    FUZZ_EXAMPLES=500 .venv/bin/pytest -p no:cacheprovider tests/dashboard/test_hostile_input.py
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nxdocs.dashboard.forms import MAX_FORM_BYTES
from nxdocs.dashboard.security import CONTENT_SECURITY_POLICY
from tests.dashboard.support import Visitor, csrf_of
from tests.dashboard.test_http import completed_job, queued_job
from tests.support.api import Caller, ServedApi

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
fuzzing = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE_NAME = "<script>alert(1)</script> & \u202e\x07 '; DROP TABLE jobs; --"
"""An artifact name as a client may store it through the API (a NUL would be refused)."""

HOSTILE = {
    "nul": "a%00b",
    "lone-surrogate": "%ED%B3%BF",
    "invalid-utf8": "%FF%FE",
    "overlong-utf8": "%C0%AF",
    "truncated-escape": "%E2%82",
    "bad-escape": "%ZZ%",
    "crlf": "x%0D%0ASet-Cookie:%20nxdocs_dashboard=forged",
    "markup": "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "sql": "'%3B%20DROP%20TABLE%20jobs%3B%20--",
    "fullwidth-digits": "%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96",
    "empty": "",
    "long": "a" * 20_000,
}
"""Query values and path segments, percent-encoded as they travel."""
WRONG_IDS = {
    "upper": "JOB_ABC",
    "dash": "job_a-b",
    "too-long": "job_" + "a" * 61,
    "other-type": "doc_abc",
    "nul-in-id": "job_a%00b",
    "surrogate-in-id": "job_%ED%B3%BF",
    "newline-in-id": "job_abc%0A",
    "slash": "job_a%2Fb",
    "dots": "%2E%2E",
}
FILTERS = ("status", "type", "period", "from", "to", "after")
LEAKS = re.compile(
    r"Traceback|File \"|sqlalchemy|psycopg|sqlite3|SELECT |INSERT INTO|UPDATE |DELETE FROM"
    r"|Exception|Error at |\.py\b",
)


@dataclass(frozen=True)
class Scene:
    """Alice's things, made once per module: a ready artifact and its job, a job
    that stays queued, and an artifact whose name is hostile."""

    alice: Caller
    artifact_id: str
    done_job: str
    queued_job: str
    hostile_job: str
    hostile_artifact: str

    def secrets(self) -> list[str]:
        return [self.alice.key, self.alice.key[4:]]


@pytest.fixture(scope="module")
def scene(served: ServedApi) -> Scene:
    alice = served.caller("alice")
    done = completed_job(served, alice)
    queued = queued_job(alice)
    hostile = alice.create({"content": "# Hostile", "name": HOSTILE_NAME})
    return Scene(
        alice, done["artifact_id"], done["job_id"], queued, hostile["job_id"], hostile["id"]
    )


@pytest.fixture
def alice(served: ServedApi, scene: Scene, visitor: Visitor) -> Visitor:
    """A browser signed in as Alice."""
    visitor.sign_in(scene.alice.key)
    return visitor


class Collected(logging.Handler):
    """Every record its loggers pass it, kept."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """What the server logs during the test (nxdocs, and uvicorn, whose logger does not
    propagate). Afterwards: no traceback, no error, and only one-line ASCII messages
    (client text escaped) with nothing of SQL or code in them."""
    caplog.set_level(logging.INFO, logger="nxdocs")  # and back afterwards
    collected = Collected()
    loggers = [logging.getLogger("nxdocs"), logging.getLogger("uvicorn")]
    for logger in loggers:
        logger.addHandler(collected)
    try:
        yield collected.records
    finally:
        for logger in loggers:
            logger.removeHandler(collected)
    for record in collected.records:
        message = record.getMessage()
        assert record.exc_info is None, message
        assert record.levelno < logging.ERROR, message
        assert message.isascii(), message
        assert message.isprintable(), message
        assert not LEAKS.search(message), message


def assert_clean(response: httpx.Response, *secrets: str) -> None:
    """No server error, and nothing in the answer a client should not see."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    text = response.text
    assert not LEAKS.search(text), text[:2000]
    for secret in secrets:
        assert secret not in text
        assert secret not in response.headers.get("location", "")
    if response.status_code in (413, 415) and "json" in response.headers["content-type"]:
        return  # the app's body limits, ahead of the dashboard (see the module's docstring)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def assert_html(response: httpx.Response, status: int, *secrets: str) -> str:
    """HTML of the dashboard's own (a page, or a fragment the page refreshes itself
    with), with `status`; its text."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert_clean(response, *secrets)
    return response.text


def assert_page(response: httpx.Response, status: int, *secrets: str) -> str:
    """A whole page of the dashboard's own, in its style, with `status`; its text."""
    html = assert_html(response, status, *secrets)
    assert "<title>" in html
    assert 'href="/dashboard/static/dashboard.css"' in html
    return html


def assert_to_sign_in(response: httpx.Response) -> None:
    assert response.status_code == 303, (response.status_code, response.text[:500])
    assert response.headers["location"] == "/dashboard/sign-in"
    assert_clean(response)


def listed(html: str) -> set[str]:
    return set(re.findall(r'data-job="(job_[a-z0-9]+)"', html))


def nothing_was_done(served: ServedApi, scene: Scene, browser: Visitor | None = None) -> None:
    """The queued job still is, and `browser` is still signed in."""
    assert served.job_row(scene.queued_job)["state"] == "queued"
    if browser is not None:
        assert browser.get("/dashboard/charts").status_code == 200


# Query strings ----------------------------------------------------------------


@pytest.mark.parametrize("name", FILTERS)
def test_a_hostile_filter_is_ignored(scene: Scene, alice: Visitor, name: str) -> None:
    everything = listed(alice.page("/dashboard/jobs/rows"))  # (the newest 25)
    assert everything
    for label, value in {**HOSTILE, **WRONG_IDS}.items():
        html = assert_page(alice.get(f"/dashboard?{name}={value}"), 200, *scene.secrets())
        assert listed(html) == everything, label
        assert "<script>alert" not in html, label
        # The form and the live refresh show no filter: none was applied.
        assert 'data-refresh="/dashboard/jobs/rows?"' in html, label
        assert " selected>" not in html, label
        assert 'name="from" value=""' in html, label


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus&status=%00&type=x&type=%FF&period=&period=1y",
        "&&&==&=x&status",
        "%00=%00&%ED%B3%BF=1&status%00=failed",
        "from=2026-13-01T00:00&to=0000-01-01T00:00",
        "from=9999-12-31T23:59&to=0001-01-01T00:00",  # the ends of what parses: nothing between
        "from=2026-1-1T1:1:00&to=+2026-01-01T0:0",
        "after=job_zzzzzzzzzzzzzzzzzzzzzzzzz",  # an id's time past anything stored
        "after=job_abcdefghijklmnopqrstuvwx",  # an untimed id of no job
        "x=1&" * 2_000,
        "charts=" + "%FF" * 5_000,
    ],
)
def test_odd_query_strings_answer_a_page(scene: Scene, alice: Visitor, query: str) -> None:
    for path in ("/dashboard", "/dashboard/jobs/rows", "/dashboard/charts"):
        assert_html(alice.get(f"{path}?{query}"), 200, *scene.secrets())


def test_signed_out_every_query_leads_to_the_sign_in_form(visitor: Visitor) -> None:
    for value in [*HOSTILE.values(), *WRONG_IDS.values()]:
        for name in FILTERS:
            assert_to_sign_in(visitor.get(f"/dashboard?{name}={value}"))
        assert_to_sign_in(visitor.get(f"/dashboard/jobs/rows?after={value}"))
        assert_to_sign_in(visitor.get(f"/dashboard/charts?{value}={value}"))
    assert_page(visitor.get(f"/dashboard/sign-in?{HOSTILE['nul']}={HOSTILE['invalid-utf8']}"), 200)


# Path segments -------------------------------------------------------------------

SEGMENTS = {**HOSTILE, **WRONG_IDS}
del SEGMENTS["empty"]  # an empty segment is another path: test_unknown_paths_*


def test_an_id_of_the_wrong_shape_is_a_404_page(
    served: ServedApi, scene: Scene, alice: Visitor
) -> None:
    csrf = alice.csrf()
    for label, segment in SEGMENTS.items():
        for path in (
            f"/dashboard/jobs/{segment}",
            f"/dashboard/jobs/{segment}/panel",
            f"/dashboard/artifacts/{segment}",
        ):
            assert_page(alice.get(path), 404, *scene.secrets())
        cancel = alice.http.post(f"/dashboard/jobs/{segment}/cancel", json={"csrf": csrf})
        assert_page(cancel, 404, *scene.secrets())
        preview = alice.get(f"/dashboard/artifacts/{segment}/pages/1.png")
        assert preview.status_code == 404, label
        assert_clean(preview)
    nothing_was_done(served, scene, alice)


NO_PAGE_NUMBERS = [
    "0",
    "-1",
    "01",
    "+1",
    " 1",
    "1.0",
    "1e2",
    "201",
    "99999999999999999999999999",
    "%EF%BC%91",  # a fullwidth 1
    "%D9%A1",  # an Arabic-Indic 1
    "%C2%B2",  # a superscript 2
    "1_0",
    "0x1",
    "1%0A",
    "a%00",
    "%ED%B3%BF",
    "%FF",
    "a" * 10_000,
]


def test_a_preview_of_no_page_number_is_a_404(scene: Scene, alice: Visitor) -> None:
    for page in NO_PAGE_NUMBERS:
        preview = alice.get(f"/dashboard/artifacts/{scene.artifact_id}/pages/{page}.png")
        assert preview.status_code == 404, page
        assert preview.content == b""  # what an <img> makes of any refusal
        assert_clean(preview)
    assert alice.get(f"/dashboard/artifacts/{scene.artifact_id}/pages/2.png").status_code == 200


def test_signed_out_every_path_leads_to_the_sign_in_form(scene: Scene, visitor: Visitor) -> None:
    for label, segment in SEGMENTS.items():
        for method, path in [
            ("GET", f"/dashboard/jobs/{segment}"),
            ("GET", f"/dashboard/jobs/{segment}/panel"),
            ("GET", f"/dashboard/artifacts/{segment}"),
            ("GET", f"/dashboard/artifacts/{scene.artifact_id}/pages/{segment}.png"),
            ("POST", f"/dashboard/jobs/{segment}/cancel"),
        ]:
            response = visitor.http.request(method, path, json={} if method == "POST" else None)
            if "%2F" in segment:  # a segment that decodes to two: a path no route takes
                assert_page(response, 404)
            else:
                assert response.status_code == 303, (label, path)
                assert_to_sign_in(response)


# Paths and methods no route takes ---------------------------------------------------


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "signed-out"])
def test_unknown_paths_are_a_404_page(scene: Scene, visitor: Visitor, signed_in: bool) -> None:
    if signed_in:
        visitor.sign_in(scene.alice.key)
    for path in [
        "/dashboard/nothing-here",
        "/dashboard/jobs",
        "/dashboard/jobs//panel",
        "/dashboard/artifacts//pages/1.png",
        f"/dashboard/artifacts/{scene.artifact_id}/pages/.png",
        f"/dashboard/artifacts/{scene.artifact_id}/pages/1.jpg",
        "/dashboard/x%0AFORGED%20ERROR%20line%00",
        "/dashboard/%ED%B3%BF",
        "/dashboard/static/",
        "/dashboard/static/missing.js",
        "/dashboard/static/%00",
        "/dashboard/static/%2E%2E/%2E%2E/sign_in.py",
        "/dashboard/static/..%2F__init__.py",
        "/dashboard/static/" + "a" * 10_000,
    ]:
        html = assert_page(visitor.get(path), 404, *scene.secrets())
        assert "There is no such page in the dashboard." in html
        assert "FORGED" not in html


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/dashboard", "GET"),
        ("/dashboard/sign-in", "GET, POST"),
        ("/dashboard/sign-out", "POST"),
        ("/dashboard/jobs/rows", "GET"),
        ("/dashboard/charts", "GET"),
        ("/dashboard/jobs/{queued}", "GET"),
        ("/dashboard/jobs/{queued}/cancel", "POST"),
        ("/dashboard/artifacts/{artifact}/pages/1.png", "GET"),
        ("/dashboard/static/dashboard.js", "GET, HEAD"),
    ],
)
def test_a_method_a_path_does_not_take_is_a_405_page_naming_those_it_does(
    served: ServedApi, scene: Scene, alice: Visitor, path: str, allowed: str
) -> None:
    path = path.format(queued=scene.queued_job, artifact=scene.artifact_id)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"):
        if method in allowed.split(", "):
            continue
        response = alice.http.request(method, path)
        assert response.headers.get("allow") == allowed, (method, path)
        assert_page(response, 405, *scene.secrets())
    nothing_was_done(served, scene, alice)


# Form bodies ----------------------------------------------------------------------

BAD_BODIES = {
    "empty": b"",
    "not-json": b"csrf=abc",
    "null": b"null",
    "array": b'["csrf"]',
    "string": b'"csrf"',
    "number-token": b'{"csrf": 1}',
    "list-token": b'{"csrf": ["x"]}',
    "object-token": b'{"csrf": {"csrf": "x"}}',
    "nul-token": b'{"csrf": "\\u0000"}',
    "lone-surrogate-token": b'{"csrf": "\\udfff"}',
    "lone-surrogate-key": b'{"\\udfff": "x"}',
    "invalid-utf8": b'{"csrf": "\xff\xfe"}',
    "encoded-surrogate": b'{"csrf": "\xed\xb3\xbf"}',
    "bom": b'\xef\xbb\xbf{"csrf": "x"}',
    "nan": b'{"csrf": NaN}',
    "huge-integer": b'{"csrf": 1' + b"0" * 4_000 + b"}",
    "deep-nesting": b"[" * 4_000 + b"]" * 4_000,
    "trailing-garbage": b'{"csrf": "x"} {"csrf": "y"}',
    "long-token": json.dumps({"csrf": "a" * 201}).encode(),
    "repeated-field": b'{"csrf": "x", "csrf": "y", "key": "a", "key": "b"}',
}


@dataclass
class Form:
    """A form of the dashboard, ready to post: where, from which browser, its real
    token; a cancel form names a queued job of its own (`job`)."""

    path: str
    browser: Visitor
    csrf: str
    job: str | None = None

    def post(self, body: bytes | Iterator[bytes], content_type: str) -> httpx.Response:
        """Post `body` as the form, with the browser's cookies. A sign-in comes from
        an address of its own each time: an address may try only 10 at once."""
        headers = {"Content-Type": content_type}
        if self.path != SIGN_IN:
            return self.browser.http.post(self.path, content=body, headers=headers)
        other = Visitor.of(str(self.browser.http.base_url))
        other.http.cookies = httpx.Cookies(self.browser.http.cookies)
        try:
            return other.http.post(self.path, content=body, headers=headers)
        finally:
            other.close()

    def did_nothing(self, served: ServedApi, scene: Scene, response: httpx.Response) -> None:
        """Nobody signed in or out, and the form's job (and the scene's) still queued."""
        assert "nxdocs_dashboard" not in response.cookies
        nothing_was_done(served, scene, None if self.path == SIGN_IN else self.browser)
        if self.job is not None:
            assert served.job_row(self.job)["state"] == "queued"


SIGN_IN = "/dashboard/sign-in"


@pytest.fixture(params=["sign-in", "sign-out", "cancel"])
def form(request: pytest.FixtureRequest, served: ServedApi, scene: Scene, visitor: Visitor) -> Form:
    if request.param == "sign-in":
        return Form(SIGN_IN, visitor, csrf_of(visitor.page(SIGN_IN)))
    visitor.sign_in(scene.alice.key)
    if request.param == "sign-out":
        return Form("/dashboard/sign-out", visitor, visitor.csrf())
    job = queued_job(scene.alice)
    return Form(f"/dashboard/jobs/{job}/cancel", visitor, visitor.csrf(), job)


def test_a_form_body_that_is_no_object_of_short_strings_is_refused(
    served: ServedApi, scene: Scene, form: Form
) -> None:
    for label, body in BAD_BODIES.items():
        response = form.post(body, "application/json")
        html = assert_page(response, 403, *scene.secrets())
        assert "nothing was done" in html, label
        form.did_nothing(served, scene, response)


def test_hostile_fields_beside_the_right_token_are_ignored(
    served: ServedApi, scene: Scene, form: Form
) -> None:
    fields = {"key": "nxd_" + "A" * 40 + "\x00", "extra": "\x00\u202e<b>", "csrf ": "x"}

    response = form.post(json.dumps({**fields, "csrf": form.csrf}).encode(), "application/json")

    if form.path == SIGN_IN:
        html = assert_page(response, 401, *scene.secrets())  # a key of the wrong shape
        assert "That key is not valid" in html
        form.did_nothing(served, scene, response)
        return
    assert response.status_code == 303  # the form did its work, whatever else came with it
    assert_clean(response, *scene.secrets())
    if form.job is None:
        assert "nxdocs_dashboard" not in form.browser.http.cookies  # signed out
    else:
        assert served.job_row(form.job)["state"] == "cancelled"
    nothing_was_done(served, scene)


NOT_JSON: dict[str, Callable[[str], bytes]] = {
    "application/x-www-form-urlencoded": lambda csrf: f"csrf={csrf}".encode(),
    "multipart/form-data; boundary=b": lambda csrf: (
        f'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n--b--\r\n'
    ).encode(),
    "text/plain": lambda csrf: json.dumps({"csrf": csrf}).encode(),
    "": lambda csrf: json.dumps({"csrf": csrf}).encode(),
    "application/jsonx": lambda csrf: json.dumps({"csrf": csrf}).encode(),
}
"""Content-Types the app refuses (415), each with a body carrying the real token."""


def test_a_form_body_that_is_not_json_is_refused(
    served: ServedApi, scene: Scene, form: Form
) -> None:
    for content_type, encode in NOT_JSON.items():
        response = form.post(encode(form.csrf), content_type)
        assert response.status_code == 415, (content_type, response.text)
        assert_clean(response, *scene.secrets())
        form.did_nothing(served, scene, response)
    body = json.dumps({"csrf": form.csrf}).encode("utf-16")
    response = form.post(body, "application/json; charset=utf-16")
    assert_page(response, 403)  # JSON is UTF-8: no fields, no token
    form.did_nothing(served, scene, response)


def test_a_form_body_too_large_is_refused_before_it_is_read(
    served: ServedApi, scene: Scene, form: Form
) -> None:
    padding = "a" * MAX_FORM_BYTES
    over_form = json.dumps({"csrf": form.csrf, "padding": padding}).encode()
    over_app = json.dumps({"csrf": form.csrf, "padding": padding * 300}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: cut off as it streams
        for start in range(0, len(over_app), 65_536):
            yield over_app[start : start + 65_536]

    response = form.post(over_form, "application/json")
    html = assert_page(response, 413)
    assert "nothing was done" in html
    form.did_nothing(served, scene, response)
    for body in (over_app, chunks()):
        response = form.post(body, "application/json")
        assert response.status_code == 413
        assert_clean(response)
        form.did_nothing(served, scene, response)


def test_the_body_limits_refusals_carry_the_dashboard_headers(visitor: Visitor) -> None:
    response = visitor.http.post(
        "/dashboard/sign-in",
        content=b"csrf=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 415
    assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY


# Cookies ----------------------------------------------------------------------------


def raw_request(base_url: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes no HTTP client would; the status and body of the answer."""
    address = urlsplit(base_url)
    assert address.hostname is not None
    assert address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65_536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def with_cookie(path: str, cookie: bytes) -> bytes:
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Cookie: " + cookie + b"\r\n\r\n"
    )


COOKIES = {
    "empty": b"nxdocs_dashboard=",
    "no-value": b"nxdocs_dashboard",
    "short": b"nxdocs_dashboard=abc",
    "secret-shaped-unknown": b"nxdocs_dashboard=" + b"A" * 43,
    "secret-shaped-plus-padding": b"nxdocs_dashboard=" + b"A" * 43 + b"=",
    "quoted-octal": b'nxdocs_dashboard="\\377\\000' + b"A" * 40 + b'"',
    "latin1": b"nxdocs_dashboard=\xff\xfe" + b"A" * 41,
    "utf8": "nxdocs_dashboard=é".encode() + b"A" * 41,
    "markup": b"nxdocs_dashboard=<script>",
    "sql": b"nxdocs_dashboard=' OR 1=1 --",
    "huge": b"nxdocs_dashboard=" + b"A" * 30_000,
    "many": b"; ".join(b"c%d=%d" % (n, n) for n in range(2_000)),
    "only-separators": b";;; =;=;,,",
    "sign-in-token-forged": b"nxdocs_dashboard_sign_in=" + b"0" * 32 + b"." + b"0" * 64,
    "sign-in-token-huge": b"nxdocs_dashboard_sign_in=" + b"\xff" * 20_000,
}


@pytest.mark.parametrize("label", list(COOKIES))
def test_a_cookie_of_any_other_shape_is_no_session(
    served: ServedApi, scene: Scene, label: str
) -> None:
    cookie = COOKIES[label]
    for path in ("/dashboard", "/dashboard/jobs/rows", f"/dashboard/jobs/{scene.queued_job}"):
        status, body = raw_request(served.base_url, with_cookie(path, cookie))
        assert status == 303, (label, path, body[:300])
    status, body = raw_request(served.base_url, with_cookie("/dashboard/sign-in", cookie))
    assert status == 200, (label, body[:300])
    assert not LEAKS.search(body.decode()), body[:2000]


def test_a_sign_in_token_of_the_wrong_shape_signs_no_one_in(
    served: ServedApi, scene: Scene, visitor: Visitor
) -> None:
    """The form's token and its cookie agree, but no server signed them."""
    for token in ["", "x", "x" * 300, "0" * 32 + "." + "0" * 64, "é" * 10, "-" * 97]:
        response = visitor.http.post(
            "/dashboard/sign-in",
            json={"csrf": token, "key": scene.alice.key},
            headers={"Cookie": f"nxdocs_dashboard_sign_in={token}".encode()},
        )
        assert_page(response, 403, *scene.secrets())
        assert "nxdocs_dashboard" not in response.cookies


def test_a_session_cookie_beside_a_hostile_one_still_works(scene: Scene, alice: Visitor) -> None:
    secret = alice.http.cookies["nxdocs_dashboard"]
    other = httpx.Client(base_url=str(alice.http.base_url))
    try:
        cookie = f"junk=\xff\xfe; nxdocs_dashboard_sign_in=é; nxdocs_dashboard={secret}"
        response = other.get("/dashboard", headers={"Cookie": cookie.encode("latin-1")})
    finally:
        other.close()
    assert_page(response, 200, *scene.secrets())


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /dashboard/jobs/job_\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /dashboard?status=\x00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /dashboard HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: a=\x00\r\n\r\n",
        b"GET /dashboard HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: a=\x01\r\n\r\n",
        b"GET /dashboard?status=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"FOO /dashboard HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ],
    ids=[
        "raw-byte-in-path",
        "nul-in-query",
        "nul-in-cookie",
        "control-in-cookie",
        "long-url",
        "bad-method",
    ],
)
def test_what_http_forbids_is_refused_by_the_server(
    served: ServedApi, server_log: list[logging.LogRecord], request_bytes: bytes
) -> None:
    status, body = raw_request(served.base_url, request_bytes)

    assert status == 400
    assert body == b"Invalid HTTP request received."
    # One plain line in the log (and `server_log` sees what uvicorn logs).
    assert [record.getMessage() for record in server_log] == ["Invalid HTTP request received."]


# The client address a trusted proxy names --------------------------------------------


def test_a_hostile_forwarded_address_is_counted_not_trusted(
    served: ServedApi, scene: Scene
) -> None:
    """uvicorn takes X-Forwarded-For from 127.0.0.1 (its default trusted proxy): whatever
    it names is the name of a rate limiter's bucket, and nothing else."""
    proxy = Visitor.of(served.base_url, address="127.0.0.1")

    def sign_in(forwarded: str) -> httpx.Response:
        return proxy.http.post(
            SIGN_IN,
            json={"csrf": "x", "key": scene.alice.key},
            headers={"X-Forwarded-For": forwarded.encode("latin-1")},
        )

    try:
        for forwarded in [
            "fe80::1%eth0",
            "::ffff:10.0.0.1",
            "1.2.3.4, 5.6.7.8",
            "[::1]:80",
            "\u0661.\u0662.\u0663.\u0664".encode().decode("latin-1"),  # as UTF-8 bytes
            "a" * 5_000,
        ]:
            assert_page(sign_in(forwarded), 403, *scene.secrets())
        for _ in range(10):  # the burst of one named client
            assert_page(sign_in("not-an-address"), 403)
        assert_page(sign_in("not-an-address"), 429)
        assert_page(sign_in("not-an-address-either"), 403)
    finally:
        proxy.close()


# What the API stored, shown -------------------------------------------------------------


def test_stored_client_text_is_escaped_on_every_page(
    scene: Scene, alice: Visitor, server_log: list[logging.LogRecord]
) -> None:
    assert "signed in" in server_log[-1].getMessage()  # `server_log` sees the app's lines
    for path in (
        f"/dashboard/jobs/{scene.hostile_job}",
        f"/dashboard/jobs/{scene.hostile_job}/panel",
        f"/dashboard/artifacts/{scene.hostile_artifact}",
    ):
        html = alice.page(path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; \u202e\x07 &#39;; DROP" in html, path
        assert "<script>alert" not in html, path


# Hypothesis -------------------------------------------------------------------------------


def percent_encoded(raw: bytes) -> str:
    return quote(raw, safe="")


# Any text as a URL carries it (UTF-8, lone surrogates as the bytes they would be),
# and any bytes at all, percent-encoded.
url_text = st.one_of(
    st.text().map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=64),
).map(percent_encoded)


@st.composite
def hostile_queries(draw: st.DrawFn) -> str:
    """A page of the table or the charts, with any filters, some repeated, of any text."""
    page = draw(st.sampled_from(["/dashboard", "/dashboard/jobs/rows", "/dashboard/charts"]))
    values = draw(st.fixed_dictionaries({}, optional=dict.fromkeys(FILTERS, url_text)))
    repeated = draw(st.lists(st.tuples(st.sampled_from(FILTERS), url_text), max_size=3))
    return page + "?" + "&".join(f"{name}={value}" for name, value in [*values.items(), *repeated])


@fuzzing
@given(path=hostile_queries())
def test_arbitrary_text_in_the_query_is_never_a_server_error(
    served: ServedApi, scene: Scene, alice: Visitor, path: str
) -> None:
    assert_html(alice.get(path), 200, *scene.secrets())
    assert_to_sign_in(httpx.get(served.base_url + path))


@fuzzing
@given(segment=url_text)
def test_arbitrary_text_in_a_path_is_never_a_server_error(
    served: ServedApi, scene: Scene, alice: Visitor, segment: str
) -> None:
    csrf = alice.csrf()
    for path in (
        f"/dashboard/jobs/{segment}",
        f"/dashboard/jobs/{segment}/panel",
        f"/dashboard/artifacts/{segment}",
        f"/dashboard/artifacts/{scene.artifact_id}/pages/{segment}.png",
        f"/dashboard/{segment}",
    ):
        assert_clean(alice.get(path), *scene.secrets())
    cancel = alice.http.post(f"/dashboard/jobs/{segment}/cancel", json={"csrf": csrf})
    assert_clean(cancel, *scene.secrets())
    nothing_was_done(served, scene, alice)


@st.composite
def hostile_fields(draw: st.DrawFn) -> dict[str, str]:
    """A form's fields: `csrf` and `key` of any text (some cut to the 200 characters a
    field may have) or left out, and others of any name."""
    fields = draw(st.dictionaries(st.text(max_size=8), st.text(), max_size=3))
    for name in ("csrf", "key"):
        value = draw(st.one_of(st.none(), st.text(), st.text().map(lambda text: text[:200])))
        if value is not None:
            fields[name] = value
    return fields


@fuzzing
@given(fields=hostile_fields(), real_token=st.booleans())
def test_arbitrary_text_in_a_form_is_never_a_server_error(
    served: ServedApi, scene: Scene, alice: Visitor, fields: dict[str, str], real_token: bool
) -> None:
    """Every form, with fields of any text (the real token, or one a letter off, beside
    them when `real_token`): refused, nothing done."""
    headers = {"Content-Type": "application/json"}
    stranger = Visitor.of(served.base_url)  # an address of its own: no rate limit met
    try:
        if real_token:
            fields["csrf"] = csrf_of(stranger.page("/dashboard/sign-in"))
        # json.dumps writes a lone surrogate as the `\udfff` escape a client could send.
        body = json.dumps(fields).encode()
        signing_in = stranger.http.post("/dashboard/sign-in", content=body, headers=headers)
        assert signing_in.status_code in (401, 403), signing_in.text[:300]
        assert_clean(signing_in, *scene.secrets())
        assert "nxdocs_dashboard" not in stranger.http.cookies
    finally:
        stranger.close()
    if real_token:
        fields["csrf"] = alice.csrf() + "x"
    body = json.dumps(fields).encode()
    for path in (f"/dashboard/jobs/{scene.queued_job}/cancel", "/dashboard/sign-out"):
        assert_page(alice.http.post(path, content=body, headers=headers), 403, *scene.secrets())
    nothing_was_done(served, scene, alice)


@fuzzing
@given(body=st.binary(max_size=512))
def test_arbitrary_bytes_as_a_form_are_never_a_server_error(
    served: ServedApi, scene: Scene, alice: Visitor, body: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    for path in (f"/dashboard/jobs/{scene.queued_job}/cancel", "/dashboard/sign-out"):
        assert_page(alice.http.post(path, content=body, headers=headers), 403, *scene.secrets())
    nothing_was_done(served, scene, alice)
