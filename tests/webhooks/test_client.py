"""The sender's HTTP client on its own: which addresses a name may reach, and signing.

A scripted resolver stands in for DNS (the one outside dependency faked here), so a
name can resolve to any address; the connections are real, to the local receiver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest
from standardwebhooks import Webhook

from nxdocs.clock import SystemClock
from nxdocs.webhooks.client import WebhookClient
from nxdocs.webhooks.deliveries import ClaimedDelivery
from nxdocs.webhooks.endpoints import new_secret
from tests.webhooks.receiver import Receiver, drip_headers

PAYLOAD = '{"type":"job.completed","timestamp":"2026-01-15T10:30:00.000Z","data":{}}'


@pytest.fixture
def plain_receiver() -> Iterator[Receiver]:
    started = Receiver()
    started.start()
    yield started
    started.close()


def client(resolver: Callable[[str], Sequence[str]]) -> WebhookClient:
    return WebhookClient(
        SystemClock(),
        timeout_seconds=10,
        max_response_bytes=65_536,
        max_connections=2,
        allowed_networks=["127.0.0.0/8"],
        resolver=resolver,
    )


def delivery(url: str, *secrets: str) -> ClaimedDelivery:
    return ClaimedDelivery(
        endpoint_id="we_1",
        id="msg_0mx7aaaaaaaaaaaaaaaaaaaaa",
        owner_id="user_1",
        url=url,
        payload=PAYLOAD,
        attempt=1,
        secrets=secrets or (new_secret(),),
    )


@pytest.mark.parametrize(
    "addresses",
    [["10.0.0.1"], ["169.254.169.254"], ["127.0.0.1", "192.168.1.1"], ["::1"], []],
)
def test_a_name_that_resolves_to_a_refused_address_is_not_connected_to(
    plain_receiver: Receiver, addresses: list[str]
) -> None:
    url = f"http://hooks.example:{plain_receiver.port}/hook"

    def resolve(host: str) -> list[str]:
        assert host == "hooks.example"
        if not addresses:
            raise OSError("no such name")
        return addresses

    sending = client(resolve)
    try:
        outcome = sending.send(delivery(url))
    finally:
        sending.close()
    assert outcome.status_code is None
    assert outcome.error == "The URL's host resolves to an address that is not allowed."
    assert not outcome.delivered
    assert plain_receiver.received() == []


def test_a_name_is_connected_to_at_its_checked_address_and_keeps_its_host_header(
    plain_receiver: Receiver,
) -> None:
    old, new = new_secret(), new_secret()
    sending = client(lambda host: ["127.0.0.1"])
    try:
        outcome = sending.send(delivery(f"http://hooks.example:{plain_receiver.port}/h", new, old))
    finally:
        sending.close()
    assert (outcome.status_code, outcome.error, outcome.delivered) == (200, None, True)
    (request,) = plain_receiver.received()
    assert request.headers["host"] == f"hooks.example:{plain_receiver.port}"
    assert request.body.decode() == PAYLOAD
    assert request.webhook_id == "msg_0mx7aaaaaaaaaaaaaaaaaaaaa"
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(request.body, request.headers)["type"] == "job.completed"


def test_headers_that_trickle_in_fail_the_attempt_at_its_deadline(
    plain_receiver: Receiver,
) -> None:
    plain_receiver.script(drip_headers(seconds=3.0))
    sending = WebhookClient(
        SystemClock(),
        timeout_seconds=0.2,  # the attempt's deadline: 0.6 s
        max_response_bytes=65_536,
        max_connections=1,
        allowed_networks=["127.0.0.0/8"],
    )
    try:
        outcome = sending.send(delivery(plain_receiver.url))
    finally:
        sending.close()
    # Not "the request failed" when the receiver finally hung up, 3 s later.
    assert outcome.error == "No complete answer within 0.2 seconds."
