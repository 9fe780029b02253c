"""Errors keep the contract's shape, and no traceback reaches a response or a log."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from nxdocs.api.catch_all import CatchAllErrors
from tests.support.server import serving


def test_unknown_route_is_404_in_shape(client: httpx.Client, auth: dict[str, str]) -> None:
    response = client.get("/v1/no-such-thing", headers=auth)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_wrong_method_is_405_in_shape(client: httpx.Client) -> None:
    response = client.post("/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "GET"


def test_a_405_allows_every_method_of_every_route_at_its_path(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    # Routes of an included router: one path, two routes (get and delete).
    response = client.put("/v1/artifacts/doc_abc", headers=auth)
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET"
    assert client.patch("/v1/jobs", headers=auth).headers["allow"] == "GET"
    # A literal path before a template that also matches it: its own methods only.
    assert client.get("/v1/artifacts/async", headers=auth).status_code == 404
    assert client.options("/v1/artifacts/async", headers=auth).headers["allow"] == "POST"


async def exploding_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return  # lifespan: start and stop cleanly
    raise RuntimeError("SELECT secret FROM api_keys WHERE key_hash = 'abc'")


def test_unexpected_exception_is_a_clean_500(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with serving(CatchAllErrors(exploding_app)) as base_url:
        response = httpx.get(f"{base_url}/v1/anything")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "INTERNAL_ERROR", "message": "An internal error occurred."}
    }
    assert "RuntimeError at" in caplog.text
    assert "SELECT" not in caplog.text
    assert "Traceback" not in caplog.text
