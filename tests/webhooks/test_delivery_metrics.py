"""`/metrics` counts webhook delivery attempts by outcome."""

from __future__ import annotations

from tests.support.api import Caller, ServedApi
from tests.support.metrics import moved, scrape
from tests.webhooks.receiver import Receiver, status
from tests.webhooks.support import completed_job, create_endpoint, wait_delivery

DELIVERIES = "nxdocs_webhook_deliveries_total"


def test_each_attempt_is_counted_by_its_outcome(
    api: ServedApi, alice: Caller, receiver: Receiver
) -> None:
    receiver.script(status(500), status(302, headers={"Location": receiver.url}))
    before = scrape(alice.http)
    endpoint = create_endpoint(alice, receiver.url)
    wait_delivery(alice, endpoint["id"], completed_job(alice), "delivered")
    after = scrape(alice.http)
    assert moved(before, after, DELIVERIES, outcome="rejected") == 2  # the 500 and the redirect
    assert moved(before, after, DELIVERIES, outcome="delivered") == 1
    assert moved(before, after, DELIVERIES, outcome="error") == 0
