"""`POST .../deliveries/{msg_id}/retry`: one more attempt for a delivery that ended."""

from __future__ import annotations

from typing import Any

from tests.support.api import Caller, MakeApi
from tests.support.contract import validate_error
from tests.support.waiting import wait_until
from tests.webhooks.receiver import Receiver, status
from tests.webhooks.support import (
    ENDPOINTS,
    completed_job,
    consistent,
    create_endpoint,
    delivery,
    patch,
    verified,
    wait_delivery,
)


def retry(caller: Caller, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    answered = caller.post(f"{ENDPOINTS}/{endpoint_id}/deliveries/{delivery_id}/retry")
    assert answered.status_code == 202, answered.text
    body: dict[str, Any] = answered.json()
    return consistent(body)


def ended_with(
    caller: Caller, endpoint_id: str, delivery_id: str, state: str, attempt_count: int
) -> dict[str, Any]:
    """The delivery once it has ended in `state` after `attempt_count` attempts."""

    def ended() -> dict[str, Any] | None:
        found = delivery(caller, endpoint_id, delivery_id)
        done = found["status"] == state and found["attempt_count"] == attempt_count
        return found if done else None

    return wait_until(ended, timeout=30, interval=0.05)


def test_retry_sends_a_delivered_event_once_more_at_once(
    make_api: MakeApi, receiver: Receiver
) -> None:
    # The poll interval is far beyond the test's waits: only a wake-up sends in time.
    api = make_api(poll_interval_seconds=120)
    alice = api.caller("alice")
    created = create_endpoint(alice, receiver.url)
    job_id = completed_job(alice)
    sent = wait_delivery(alice, created["id"], job_id, "delivered", timeout=20)

    queued = retry(alice, created["id"], sent["id"])
    assert queued["id"] == sent["id"]
    # As it was read after the retry committed: a woken sender may have taken it already.
    assert (queued["status"], queued["attempt_count"]) in (
        ("pending", 1),
        ("pending", 2),
        ("delivered", 2),
    )
    again = ended_with(alice, created["id"], sent["id"], "delivered", 2)
    assert [a["status_code"] for a in again["attempts"]] == [200, 200]
    first, second = receiver.received()
    assert first.webhook_id == second.webhook_id == sent["id"]
    assert first.body == second.body
    assert verified(created["secret"], second)["data"]["id"] == job_id


def test_retry_gives_a_failed_delivery_one_more_attempt(
    make_api: MakeApi, receiver: Receiver
) -> None:
    api = make_api(webhook_retry_seconds=1)
    alice = api.caller("alice")
    receiver.always(status(500))
    created = create_endpoint(alice, receiver.url)
    job_id = completed_job(alice)
    failed = wait_delivery(alice, created["id"], job_id, "failed")
    tried = failed["attempt_count"]
    assert tried >= 1
    assert failed["last_error"] == f"Gave up after {tried} attempt(s); the last: HTTP 500"
    assert failed["last_status_code"] == 500
    assert len(receiver.received()) == tried

    retry(alice, created["id"], failed["id"])
    still = ended_with(alice, created["id"], failed["id"], "failed", tried + 1)
    assert still["last_error"] == f"Gave up after {tried + 1} attempt(s); the last: HTTP 500"
    assert len(receiver.received()) == tried + 1  # one attempt, not a new round of retries

    receiver.always(status(200))
    retry(alice, created["id"], failed["id"])
    delivered = ended_with(alice, created["id"], failed["id"], "delivered", tried + 2)
    assert delivered["last_status_code"] == 200
    assert delivered["last_error"] is None
    assert len(receiver.received()) == tried + 2


def test_retry_on_a_disabled_endpoint_is_a_conflict(make_api: MakeApi, receiver: Receiver) -> None:
    api = make_api()
    alice = api.caller("alice")
    created = create_endpoint(alice, receiver.url, ("job.completed",))
    other = create_endpoint(alice, receiver.url, ("job.failed",))
    job_id = completed_job(alice)
    sent = wait_delivery(alice, created["id"], job_id, "delivered")
    path = f"{ENDPOINTS}/{created['id']}"
    assert patch(alice, path, {"status": "disabled"}).status_code == 200

    refused = alice.post(f"{path}/deliveries/{sent['id']}/retry")
    assert refused.status_code == 409
    validate_error(refused.json())
    assert refused.json()["error"]["code"] == "CONFLICT"
    assert delivery(alice, created["id"], sent["id"])["status"] == "delivered"
    # The event's id on an endpoint that never got it is no delivery of that endpoint.
    missing = alice.post(f"{ENDPOINTS}/{other['id']}/deliveries/{sent['id']}/retry")
    assert missing.status_code == 404
    assert alice.get(f"{ENDPOINTS}/{other['id']}/deliveries/{sent['id']}").status_code == 404

    assert patch(alice, path, {"status": "enabled"}).status_code == 200
    retry(alice, created["id"], sent["id"])
    ended_with(alice, created["id"], sent["id"], "delivered", 2)
    assert len(receiver.received()) == 2
