"""Hostile input gets a clear 4xx in the contract's shape, on SQLite and PostgreSQL.

NUL bytes and lone surrogates (which PostgreSQL refuses, and UTF-8 cannot
encode), ids of the wrong shape, bodies that do not parse, and request paths
written to forge log lines. Nothing reaches the database, and nothing is
written half.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from nxdocs.api.catch_all import CatchAllErrors
from tests.api.test_errors import exploding_app
from tests.support.server import serving

JSON = {"Content-Type": "application/json"}
NUL = "\\u0000"
LONE_SURROGATE = "\\udfff"


def post_raw(
    client: httpx.Client, path: str, body: bytes, auth: dict[str, str], **headers: str
) -> httpx.Response:
    return client.post(path, content=body, headers={**JSON, **auth, **headers})


def assert_invalid(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR", error
    assert [detail["field"] for detail in error["details"]] == [field], error


@pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize(
    ("template", "field"),
    [
        ('{{"content": "# Deck{bad}"}}', "content"),
        ('{{"prompt": "a deck{bad}"}}', "prompt"),
        ('{{"content": "# A", "name": "n{bad}"}}', "name"),
        ('{{"content": "# A", "brand_id": "brand_a{bad}"}}', "brand_id"),
        ('{{"content": "# A", "theme_id": "{bad}"}}', "theme_id"),
        ('{{"content": "# A", "extra": ["ok", {{"deep": "{bad}"}}]}}', "extra[1].deep"),
        ('{{"content": "# A", "k{bad}": 1}}', "body"),
    ],
)
def test_unstorable_text_in_an_artifact_body_is_refused_naming_the_field(
    client: httpx.Client, auth: dict[str, str], template: str, field: str, bad: str
) -> None:
    for path in ("/v1/artifacts", "/v1/artifacts/async"):
        response = post_raw(client, path, template.format(bad=bad).encode(), auth)
        assert_invalid(response, field)
    listed = client.get("/v1/artifacts", headers=auth).json()
    assert listed["data"] == [], "nothing was created"


@pytest.mark.parametrize("bad", [NUL, LONE_SURROGATE], ids=["nul", "lone-surrogate"])
def test_unstorable_text_in_an_export_body_is_refused(
    client: httpx.Client, auth: dict[str, str], bad: str
) -> None:
    body = f'{{"artifact_id": "doc_a{bad}b", "format": "pdf"}}'.encode()
    for path in ("/v1/exports", "/v1/exports/async"):
        assert_invalid(post_raw(client, path, body, auth), "artifact_id")


@pytest.mark.parametrize(
    "artifact_id", ["nope", "doc_", "doc_ABC", "job_abc", "doc_a-b", "doc_" + "a" * 61]
)
def test_a_body_id_of_the_wrong_shape_is_a_400(
    client: httpx.Client, auth: dict[str, str], artifact_id: str
) -> None:
    response = client.post(
        "/v1/exports/async", json={"artifact_id": artifact_id, "format": "pdf"}, headers=auth
    )
    assert_invalid(response, "artifact_id")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/jobs/job_a%00b",
        "/v1/jobs/job_%ED%B3%BF",
        "/v1/jobs/job_a%0Ab",
        "/v1/jobs/JOB_ABC",
        "/v1/jobs/" + "job_" + "a" * 10_000,
        "/v1/artifacts/doc_a%00b",
        "/v1/artifacts/doc_%ED%B3%BF",
        "/v1/artifacts/exp_abc",
        "/v1/exports/exp_a%00b",
        "/v1/exports/doc_abc",
        "/v1/brands/brand_a%00b",
        "/v1/files/exp_a%00b/deck.pdf?expires=1&signature=abc",
    ],
)
def test_a_path_id_of_the_wrong_shape_is_a_404(
    client: httpx.Client, auth: dict[str, str], path: str
) -> None:
    response = client.get(path, headers=auth)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_deleting_an_id_of_the_wrong_shape_is_a_404(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    response = client.delete("/v1/artifacts/doc_a%00b", headers=auth)
    assert response.status_code == 404, response.text


@pytest.mark.parametrize("after", ["doc_a%00b", "%ED%B3%BF", "a" * 100])
def test_a_cursor_of_the_wrong_shape_is_a_400(
    client: httpx.Client, auth: dict[str, str], after: str
) -> None:
    for path in ("/v1/artifacts", "/v1/brands"):
        assert_invalid(client.get(f"{path}?after={after}", headers=auth), "after")


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'{"content": "\xff\xfe# Deck"}', {}),
        (b'{"content": "# Deck \xed\xb3\xbf"}', {}),  # a surrogate encoded as UTF-8 bytes
        ('{"content": "# Déck"}'.encode("latin-1"), {"Content-Type": "application/json"}),
        (b'{"content": "# Deck"}', {"Content-Type": "application/json; charset=latin-1"}),
        (
            '{"content": "# Deck"}'.encode("utf-16"),
            {"Content-Type": "application/json; charset=utf-16"},
        ),
        (b"[" * 100_000 + b"]" * 100_000, {}),
        (b'{"content": "# Deck", "page_count": 1' + b"0" * 5_000 + b"}", {}),
        (b'{"content": "# Deck", "page_count": NaN}', {}),
        (b'{"content": "# Deck", "page_count": 1e400}', {}),
        (b'{"content": "# Deck", "page_count": -Infinity}', {}),
        (b'{"content": "# Deck",}', {}),
    ],
    ids=[
        "invalid-utf8",
        "encoded-surrogate",
        "latin1-bytes",
        "latin1-charset",
        "utf16",
        "deep-nesting",
        "huge-integer",
        "nan",
        "overflowing-float",
        "infinity",
        "trailing-comma",
    ],
)
def test_a_body_that_does_not_parse_is_a_validation_error_on_body(
    client: httpx.Client, auth: dict[str, str], body: bytes, headers: dict[str, str]
) -> None:
    response = post_raw(client, "/v1/artifacts/async", body, auth, **headers)
    assert_invalid(response, "body")
    assert response.json()["error"]["details"][0]["message"].startswith(
        "The body is not valid JSON"
    )


@pytest.mark.parametrize("expires", ["%C2%B2", "%D9%A1%D9%A2", "1%00", "-1", "1e9"])
def test_a_download_link_with_a_malformed_expiry_is_forbidden(
    client: httpx.Client, expires: str
) -> None:
    response = client.get(f"/v1/files/exp_abc/deck.pdf?expires={expires}&signature=abc")
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_a_download_link_with_a_non_ascii_signature_is_forbidden(client: httpx.Client) -> None:
    response = client.get("/v1/files/exp_abc/deck.pdf?expires=1&signature=%ED%B3%BF%C3%A9")
    assert response.status_code == 403, response.text


def test_a_log_line_for_a_hostile_path_is_one_escaped_capped_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    hostile = "/v1/x%0AFORGED%20ERROR%20line%00" + "y" * 10_000
    with serving(CatchAllErrors(exploding_app)) as base_url:
        response = httpx.get(f"{base_url}{hostile}")
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "nxdocs.api.catch_all"]
    line = record.getMessage()
    assert "\n" not in line
    assert "\x00" not in line
    assert "/v1/x\\nFORGED ERROR line\\x00yyy" in line
    assert len(line) < 400, "the path is capped"
    assert "more)" in line, "the cut is said"


def test_unstorable_text_deep_in_a_body_is_found_without_recursion(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    depth = 900  # as deep as the parser allows, near Python's frame limit
    body = '{"content": "# A", "extra": ' + "[" * depth + f'"{NUL}"' + "]" * depth + "}"
    response = post_raw(client, "/v1/artifacts/async", body.encode(), auth)
    assert_invalid(response, "extra" + "[0]" * depth)
