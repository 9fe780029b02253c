"""Another owner's endpoint is 404 on every route, exactly like one that does not exist."""

from __future__ import annotations

import httpx
import pytest

from nxdocs.db.schema import webhook_deliveries, webhook_endpoints
from tests.support.api import MakeApi
from tests.support.contract import NOT_FOUND
from tests.webhooks.support import ENDPOINTS, cancelled_job, create_endpoint, deliveries


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_another_owners_endpoint_is_404_on_every_route(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False)  # the delivery stays pending, untouched
    alice, bob = api.caller("alice"), api.caller("bob")
    bobs = create_endpoint(bob, "http://127.0.0.1:9/hook", description="bob's")
    cancelled_job(bob)
    (pending,) = deliveries(bob, bobs["id"])["data"]
    before = api.rows(webhook_endpoints), api.rows(webhook_deliveries)

    base = f"{ENDPOINTS}/{bobs['id']}"
    routes: list[tuple[str, str, dict[str, object] | None]] = [
        ("GET", base, None),
        ("PATCH", base, {"description": "alice's now", "status": "disabled"}),
        ("PATCH", base, {"url": "http://127.0.0.1:9/alice"}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate_secret", None),
        ("GET", f"{base}/deliveries", None),
        ("GET", f"{base}/deliveries/{pending['id']}", None),
        ("POST", f"{base}/deliveries/{pending['id']}/retry", None),
    ]
    for method, path, body in routes:
        for caller in (alice, bob):
            unknown = path.replace(bobs["id"], "we_0000000000000000000000000")
            answered: httpx.Response = caller.http.request(
                method, unknown, headers=caller.auth, json=body
            )
            assert (answered.status_code, answered.json()) == (404, NOT_FOUND), unknown
        answered = alice.http.request(method, path, headers=alice.auth, json=body)
        assert (answered.status_code, answered.json()) == (404, NOT_FOUND), (method, path)

    assert alice.ok(ENDPOINTS)["data"] == []
    # Nothing of bob's changed: not the endpoint (nor its secret), not the delivery.
    assert (api.rows(webhook_endpoints), api.rows(webhook_deliveries)) == before
    assert bob.ok(base)["description"] == "bob's"
    # An id of another shape is the same 404.
    assert bob.get(f"{ENDPOINTS}/job_123").status_code == 404
    assert bob.get(f"{base}/deliveries/we_123").status_code == 404
