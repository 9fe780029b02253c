"""`client.webhook_endpoints` (create, list, get, update, delete, rotate_secret,
deliveries, retry_delivery) and `webhooks.verify` on a delivery the server really sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nxdocs import Client
from nxdocs.sdk import NOT_GIVEN, NotFoundError, WebhookVerificationError, verify
from tests.sdk.servers import DECK
from tests.support.waiting import wait_until
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    started.start()
    yield started
    started.close()


def test_endpoints_are_created_listed_updated_and_deleted(client: Client) -> None:
    created = client.webhook_endpoints.create("http://127.0.0.1:9/a", description="one")
    assert created.secret is not None
    assert created.secret.startswith("whsec_")
    assert created.secret not in repr(created)
    second = client.webhook_endpoints.create("http://127.0.0.1:9/b", ["job.failed"])
    listed = [endpoint.id for endpoint in client.webhook_endpoints.list(limit=1)]
    assert listed == [second.id, created.id]
    shown = client.webhook_endpoints.get(created.id)
    assert (shown.url, shown.description, shown.secret) == ("http://127.0.0.1:9/a", "one", None)
    updated = client.webhook_endpoints.update(
        created.id, events=["job.completed"], description=None, status=NOT_GIVEN
    )
    assert (updated.events, updated.description, updated.status) == (
        ["job.completed"],
        None,
        "enabled",
    )
    rotated = client.webhook_endpoints.rotate_secret(created.id)
    assert rotated.secret is not None
    assert rotated.secret != created.secret
    deleted = client.webhook_endpoints.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(NotFoundError):
        client.webhook_endpoints.get(created.id)


def test_a_delivery_verifies_is_listed_and_can_be_sent_again(
    client: Client, receiver: Receiver
) -> None:
    endpoint = client.webhook_endpoints.create(receiver.url)
    assert endpoint.secret is not None
    artifact = client.artifacts.create(content=DECK)
    received = receiver.wait_for(1)[0]

    event = client.webhooks.verify(received.body, received.headers, endpoint.secret)
    assert event.type == "job.completed"
    assert (event.data.id, event.data.artifact_id) == (artifact.job_id, artifact.id)

    def delivered() -> list[str]:
        shown = client.webhook_endpoints.deliveries(endpoint.id, status="delivered")
        return [delivery.id for delivery in shown]

    assert wait_until(delivered) == [received.webhook_id]
    again = client.webhook_endpoints.retry_delivery(endpoint.id, received.webhook_id)
    assert again.id == received.webhook_id
    assert receiver.wait_for(2)[1].webhook_id == received.webhook_id


def test_verify_refuses_an_altered_body_or_another_secret(
    client: Client, receiver: Receiver
) -> None:
    endpoint = client.webhook_endpoints.create(receiver.url, ["job.completed"])
    assert endpoint.secret is not None
    client.artifacts.create(content=DECK)
    received = receiver.wait_for(1)[0]
    altered = received.body.replace(b"completed", b"failed", 1)
    with pytest.raises(WebhookVerificationError):
        verify(altered, received.headers, endpoint.secret)
    other = client.webhook_endpoints.rotate_secret(endpoint.id).secret
    assert other is not None
    # The rotated secret signs later deliveries, not this one.
    with pytest.raises(WebhookVerificationError):
        verify(received.body, received.headers, other)
    with pytest.raises(WebhookVerificationError):  # not base64: still the SDK's error
        verify(received.body, received.headers, "whsec_not!base64")
