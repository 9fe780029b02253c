"""Requests that cannot start: 400/413/415 in the error shape, and nothing written.

Each invalid body is sent to both create routes; afterwards the artifacts and
jobs tables must still be empty, whatever the reason for the refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nxdocs.db.schema import artifacts, jobs
from tests.support.api import MakeApi, ServedApi

MAX_CONTENT = 1000
MAX_REQUEST = 50_000
ROUTES = ("/v1/artifacts", "/v1/artifacts/async")
JSON = {"content-type": "application/json"}


@pytest.fixture
def small(make_api: MakeApi) -> ServedApi:
    """A server with small limits, so the tests send small bodies."""
    return make_api(max_content_bytes=MAX_CONTENT, max_request_bytes=MAX_REQUEST)


def invalid_bodies(other_brand: str) -> Iterator[tuple[dict[str, Any], str]]:
    """(body, the field its 400 must name)."""
    yield {}, "prompt"
    yield {"prompt": None, "content": None}, "prompt"
    yield {"prompt": "   ", "content": "\n\n"}, "prompt"
    yield {"name": "Only a name"}, "prompt"
    yield {"prompt": "Tea", "type": "spreadsheet"}, "type"
    yield {"prompt": "Tea", "type": None}, "type"
    for page_count in (0, 51, -1, "x", "3", 2.5, True):
        yield {"prompt": "Tea", "page_count": page_count}, "page_count"
    yield {"content": "x" * (MAX_CONTENT + 1)}, "content"
    yield {"content": "é" * (MAX_CONTENT // 2 + 1)}, "content"  # bytes count, not characters
    yield {"prompt": 42}, "prompt"
    yield {"prompt": ["Tea"]}, "prompt"
    yield {"prompt": "p" * 20_001}, "prompt"
    yield {"content": {"markdown": "# Tea"}}, "content"
    yield {"prompt": "Tea", "name": 7}, "name"
    yield {"prompt": "Tea", "name": ""}, "name"
    yield {"prompt": "Tea", "name": "n" * 201}, "name"
    yield {"prompt": "Tea", "theme_id": 3}, "theme_id"
    yield {"prompt": "Tea", "theme_id": "theme_nope"}, "theme_id"
    yield {"prompt": "Tea", "brand_id": False}, "brand_id"
    yield {"prompt": "Tea", "brand_id": "brand_abc123def456"}, "brand_id"
    yield {"prompt": "Tea", "brand_id": other_brand}, "brand_id"


def assert_validation_error(response: Any, field: str, what: object) -> None:
    assert response.status_code == 400, (what, response.text)
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR", what
    assert error["message"] == "Request validation failed.", what
    assert [detail["field"] for detail in error["details"]] == [field], (what, error)
    assert all(detail["message"] for detail in error["details"]), what


def test_invalid_bodies_are_400_naming_the_field_and_create_nothing(small: ServedApi) -> None:
    alice, bob = small.caller("alice"), small.caller("bob")
    bobs_brand = small.system.brands.create(bob.owner_id, "Bob's", None, "theme_ocean").id
    cases = list(invalid_bodies(bobs_brand))

    for route in ROUTES:
        for body, field in cases:
            assert_validation_error(alice.post(route, json=body), field, (route, body))

    assert (small.count(artifacts), small.count(jobs)) == (0, 0)
    # The limits are bounds, not off by one: exactly at them is accepted.
    alice.create({"content": "x" * MAX_CONTENT, "page_count": 50})
    # Bob's brand is refused to Alice only because it is not hers.
    bobs = bob.create({"prompt": "Tea", "brand_id": bobs_brand})
    assert (bobs["brand_id"], bobs["theme_id"]) == (bobs_brand, "theme_ocean")
    assert (small.count(artifacts), small.count(jobs)) == (2, 2)


def test_bodies_that_are_not_a_json_object_are_refused(small: ServedApi) -> None:
    alice = small.caller()
    for route in ROUTES:
        malformed = alice.post(route, content=b'{"prompt": "Tea",', headers=JSON)
        assert malformed.status_code == 400, malformed.text
        error = malformed.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert error["details"]
        assert_validation_error(alice.post(route, content=b'["Tea"]', headers=JSON), "body", route)
        assert_validation_error(alice.post(route, content=b"", headers=JSON), "body", route)

        for headers, content in (
            ({"content-type": "text/plain"}, b'{"prompt": "Tea"}'),
            ({"content-type": "application/x-www-form-urlencoded"}, b"prompt=Tea"),
            ({}, b'{"prompt": "Tea"}'),
        ):
            refused = alice.post(route, content=content, headers=headers)
            assert refused.status_code == 415, (route, headers, refused.text)
            assert refused.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"

        too_large = alice.post(route, json={"prompt": "p" * MAX_REQUEST})
        assert too_large.status_code == 413, too_large.text
        assert too_large.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

    assert (small.count(artifacts), small.count(jobs)) == (0, 0)
    charset = alice.post(
        "/v1/artifacts/async",
        content=b'{"prompt": "Tea"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert charset.status_code == 202, charset.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_malformed_json_names_the_body(small: ServedApi) -> None:
    alice = small.caller()
    response = alice.post("/v1/artifacts/async", content=b'{"prompt": "Tea",', headers=JSON)

    assert_validation_error(response, "body", "malformed JSON")


def chunks(*parts: bytes) -> Iterator[bytes]:
    """A body httpx sends chunked: no Content-Length header."""
    yield from parts


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_chunked_body_over_the_limit_is_413(small: ServedApi) -> None:
    alice = small.caller()
    body = chunks(b'{"prompt": "', b"p" * MAX_REQUEST, b'"}')
    response = alice.post("/v1/artifacts/async", content=body, headers=JSON)

    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert small.count(artifacts) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_chunked_body_that_is_not_json_is_415(small: ServedApi) -> None:
    alice = small.caller()
    body = chunks(b'{"prompt": "Tea"}')
    response = alice.post(
        "/v1/artifacts/async", content=body, headers={"content-type": "text/plain"}
    )

    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
