"""What needs no key under /v1: `/v1/health` exactly, and the signed downloads.

Public paths are matched exactly unless they name a folder, so a path that
merely starts like the health route needs a key like any other.
"""

from __future__ import annotations

import httpx
import pytest

UNAUTHORIZED = {
    "error": {"code": "UNAUTHORIZED", "message": "Authentication required or API key is invalid."}
}


def test_v1_health_needs_no_key(client: httpx.Client) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json()["ok"] is True


@pytest.mark.parametrize(
    "path", ["/v1/healthz", "/v1/health/", "/v1/health/x", "/v1/healthcheck", "/v1/health.json"]
)
def test_a_path_that_only_starts_like_health_needs_a_key(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED), path
    assert response.headers["www-authenticate"] == "Bearer"


def test_with_a_key_such_a_path_is_just_unknown(client: httpx.Client, auth: dict[str, str]) -> None:
    response = client.get("/v1/healthz", headers=auth)
    assert response.status_code == 404


def test_downloads_need_no_key_but_a_signature(client: httpx.Client) -> None:
    response = client.get("/v1/files/exp_abcdefghijkl/deck.pdf?expires=1&signature=00")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
