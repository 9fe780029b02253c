"""Every /v1 route rejects missing, malformed, unknown and revoked keys.

The routes are read off the app (its router and its OpenAPI document), so a
route added later is covered without touching this test.
"""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.routing import Route

from nxdocs.api.app import PUBLIC_PREFIXES, NxdocsApp, create_app
from nxdocs.auth.keys import generate_key
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support.contract import check_response
from tests.support.server import serving

UNAUTHORIZED = {
    "error": {"code": "UNAUTHORIZED", "message": "Authentication required or API key is invalid."}
}


def v1_operations(app: NxdocsApp) -> set[tuple[str, str]]:
    operations = set()
    for route in app.api.routes:
        if isinstance(route, Route):
            for method in route.methods or ():
                operations.add((method, route.path))
    for path, item in app.api.openapi()["paths"].items():
        operations.update((method.upper(), path) for method in item)
    return {
        (method, re.sub(r"\{[^}]+\}", "x1", path))
        for method, path in operations
        if path.startswith("/v1") and not path.startswith(PUBLIC_PREFIXES) and method != "HEAD"
    }


def test_the_poll_route_is_enumerated(app: NxdocsApp) -> None:
    assert ("GET", "/v1/jobs/x1") in v1_operations(app)


def bad_headers(api_system: System) -> dict[str, dict[str, str]]:
    revoked = api_system.keys.create("to revoke")
    api_system.keys.revoke(revoked.id)
    return {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {generate_key()}"},
        "malformed": {"Authorization": "Bearer not-a-key"},
        "empty": {"Authorization": "Bearer"},
        "unknown": {"Authorization": f"Bearer {generate_key()}"},
        "revoked": {"Authorization": f"Bearer {revoked.secret}"},
    }


def test_every_v1_route_requires_a_valid_key(
    client: httpx.Client, app: NxdocsApp, api_system: System
) -> None:
    operations = v1_operations(app)
    assert operations
    for case, headers in bad_headers(api_system).items():
        for method, path in sorted(operations):
            response = client.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (case, method, path)
            assert response.json() == UNAUTHORIZED, (case, method, path)
            assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", ["/health", "/v1/health"])
def test_health_needs_no_key(client: httpx.Client, path: str) -> None:
    body = client.get(path).json()
    assert body["ok"] is True
    assert body["service"] == "nxdocs"
    assert isinstance(body["timestamp"], int)
    assert body["timestamp"] > 1_700_000_000_000


def test_rate_limit_answers_429_with_retry_after(settings: Settings) -> None:
    system = build_system(
        settings.model_copy(update={"rate_limit_per_second": 0.01, "rate_limit_burst": 3})
    )
    try:
        key = system.keys.create("limited").secret
        headers = {"Authorization": f"Bearer {key}"}
        with (
            serving(create_app(system, embedded_worker=False)) as base_url,
            httpx.Client(base_url=base_url, event_hooks={"response": [check_response]}) as http,
        ):
            statuses = [http.get("/v1/jobs/job_x", headers=headers).status_code for _ in range(3)]
            limited = http.get("/v1/artifacts", headers=headers)
            other_route = http.get("/v1/jobs/job_x", headers=headers)
        assert statuses == [404, 404, 404]
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["retry-after"]) >= 1
        assert other_route.status_code == 429
    finally:
        system.close()
