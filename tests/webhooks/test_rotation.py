"""Rotating an endpoint's secret: a new one at once, both signing during the overlap."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from nxdocs.api.objects import WebhookEndpointWithSecret
from nxdocs.webhooks.endpoints import new_secret
from tests.support.api import Caller, MakeApi, ServedApi
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import ENDPOINTS, completed_job, create_endpoint, wait_delivery


def signatures(secret_count: int, receiver: Receiver) -> list[str]:
    (request,) = receiver.received()[-1:]
    found = request.headers["webhook-signature"].split(" ")
    assert len(found) == secret_count, found
    assert all(signature.startswith("v1,") for signature in found)
    return found


def test_during_the_overlap_deliveries_verify_with_the_old_and_the_new_secret(
    api: ServedApi, alice: Caller, receiver: Receiver
) -> None:
    created = create_endpoint(alice, receiver.url)
    old = created["secret"]
    path = f"{ENDPOINTS}/{created['id']}"
    before = completed_job(alice)
    wait_delivery(alice, created["id"], before, "delivered")
    signatures(1, receiver)

    rotated = alice.post(f"{path}/rotate_secret")
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    WebhookEndpointWithSecret.model_validate(body)
    new = body["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert old not in rotated.text
    assert {k: v for k, v in body.items() if k not in ("secret", "updated_at")} == {
        k: v for k, v in created.items() if k not in ("secret", "updated_at")
    }
    for shown in (alice.get(path), alice.get(ENDPOINTS)):
        assert "secret" not in shown.text
        assert old not in shown.text
        assert new not in shown.text

    after = completed_job(alice)
    wait_delivery(alice, created["id"], after, "delivered")
    signatures(2, receiver)
    request = receiver.received()[-1]
    for secret in (old, new):
        assert Webhook(secret).verify(request.body, request.headers)["data"]["id"] == after
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request.body, request.headers)


def test_after_the_overlap_only_the_new_secret_signs(make_api: MakeApi, receiver: Receiver) -> None:
    api = make_api(webhook_secret_overlap_seconds=0)
    alice = api.caller("alice")
    created = create_endpoint(alice, receiver.url)
    rotated = alice.post(f"{ENDPOINTS}/{created['id']}/rotate_secret").json()

    job_id = completed_job(alice)
    wait_delivery(alice, created["id"], job_id, "delivered")
    signatures(1, receiver)
    request = receiver.received()[-1]
    assert Webhook(rotated["secret"]).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(request.body, request.headers)
