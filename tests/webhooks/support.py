"""Helpers of the webhook tests: endpoints, jobs that end, and deliveries as the API shows them."""

from __future__ import annotations

from typing import Any

import httpx
from standardwebhooks import Webhook

from nxdocs.api.objects import WebhookDeliveryObject
from tests.support.api import Caller
from tests.support.waiting import wait_until
from tests.webhooks.receiver import Received

LOOPBACK = "127.0.0.0/8,::1/128"
WEBHOOK_SETTINGS: dict[str, Any] = {
    "webhook_allowed_networks": LOOPBACK,
    "webhook_backoff_base_seconds": 0.05,
    "webhook_backoff_max_seconds": 0.2,
    "webhook_timeout_seconds": 10.0,
    "webhook_disable_after_failures": 10_000,
}
"""Every test system's: a local receiver allowed, retries within a fraction of a second,
and (unless a test lowers it) no endpoint disabled by those quick failures."""

BOTH = ("job.completed", "job.failed")
DECK = {"type": "presentation", "content": "# Hooked\n\n---\n\n## Two\n\n- a\n- b"}
ENDPOINTS = "/v1/webhook_endpoints"


def create_endpoint(
    caller: Caller, url: str, events: tuple[str, ...] = BOTH, **fields: Any
) -> dict[str, Any]:
    """`POST /v1/webhook_endpoints`, which must answer 201; the endpoint with its secret."""
    response = caller.post(ENDPOINTS, json={"url": url, "events": list(events), **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def patch(caller: Caller, path: str, body: dict[str, Any]) -> httpx.Response:
    return caller.http.patch(path, headers=caller.auth, json=body)


def start_job(caller: Caller, **fields: Any) -> str:
    """A new artifact.create job (async); its id."""
    created = caller.create({**DECK, **fields})
    job_id: str = created["job_id"]
    return job_id


def completed_job(caller: Caller, **fields: Any) -> str:
    """A new artifact.create job, waited for: it must complete."""
    job_id = start_job(caller, **fields)
    assert caller.finished_job(job_id)["status"] == "completed"
    return job_id


def cancelled_job(caller: Caller, **fields: Any) -> str:
    """A new job, cancelled (on a server without a worker it never runs): job.failed."""
    job_id = start_job(caller, **fields)
    cancelled = caller.post(f"/v1/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "failed"
    return job_id


def consistent(shown: dict[str, Any]) -> dict[str, Any]:
    """A delivery as the API shows it, checked against itself: it says delivered only
    after a 2xx attempt, and its last status is its last attempt's."""
    WebhookDeliveryObject.model_validate(shown)
    attempts = shown["attempts"]
    assert shown["attempt_count"] >= len(attempts), shown
    assert [a["number"] for a in attempts] == sorted({a["number"] for a in attempts}), shown
    last = attempts[-1] if attempts else None
    assert shown["last_status_code"] == (last and last["status_code"]), shown
    if shown["status"] == "delivered":
        assert last is not None, shown
        assert 200 <= last["status_code"] < 300, shown
        assert last["error"] is None, shown
        assert shown["delivered_at"] is not None, shown
    else:
        assert shown["delivered_at"] is None, shown
    if shown["status"] != "pending":
        assert shown["next_attempt_at"] is None, shown
    return shown


def deliveries(caller: Caller, endpoint_id: str, **params: Any) -> dict[str, Any]:
    response = caller.get(f"{ENDPOINTS}/{endpoint_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    for shown in body["data"]:
        consistent(shown)
    return body


def delivery(caller: Caller, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    return consistent(caller.ok(f"{ENDPOINTS}/{endpoint_id}/deliveries/{delivery_id}"))


def delivery_of(caller: Caller, endpoint_id: str, job_id: str) -> dict[str, Any] | None:
    """The endpoint's delivery for the job, if there is one (on the first page: the 20 newest)."""
    found = [d for d in deliveries(caller, endpoint_id, limit=20)["data"] if d["job_id"] == job_id]
    assert len(found) <= 1, found
    return found[0] if found else None


def wait_delivery(
    caller: Caller,
    endpoint_id: str,
    job_id: str,
    status: str | tuple[str, ...] = ("delivered", "failed"),
    *,
    attempts: int = 0,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """The job's delivery to the endpoint once its status is `status` (by default:
    once it has ended) and it has at least `attempts` attempts recorded."""
    wanted = (status,) if isinstance(status, str) else status

    def reached() -> dict[str, Any] | None:
        found = delivery_of(caller, endpoint_id, job_id)
        if found is None or found["status"] not in wanted or len(found["attempts"]) < attempts:
            return None
        return found

    return wait_until(reached, timeout=timeout, interval=0.05)


def endpoint(caller: Caller, endpoint_id: str) -> dict[str, Any]:
    return caller.ok(f"{ENDPOINTS}/{endpoint_id}")


def verified(secret: str, received: Received) -> dict[str, Any]:
    """The request's JSON body, once `standardwebhooks` has verified it with `secret`."""
    body: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return body
