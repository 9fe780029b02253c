"""An endpoint's deliveries: newest first, in pages, filtered by status."""

from __future__ import annotations

import pytest

from nxdocs.api.objects import WebhookDeliveryList
from tests.support.api import MakeApi
from tests.webhooks.receiver import Receiver, hang, status
from tests.webhooks.support import (
    ENDPOINTS,
    completed_job,
    create_endpoint,
    deliveries,
    wait_delivery,
)


def test_deliveries_list_newest_first_in_pages_and_by_status(
    make_api: MakeApi, receiver: Receiver
) -> None:
    # A second of retries; an attempt may wait a minute for an answer (the last one's
    # never comes: it stays pending while the test reads).
    api = make_api(webhook_retry_seconds=1, webhook_timeout_seconds=60)
    alice = api.caller("alice")
    created = create_endpoint(alice, receiver.url)
    endpoint_id = created["id"]

    def ended(state: str) -> str:
        job_id = completed_job(alice)
        found = wait_delivery(alice, endpoint_id, job_id, state, attempts=1)
        delivery_id: str = found["id"]
        return delivery_id

    first = ended("delivered")
    second = ended("delivered")
    receiver.always(status(500))
    third = ended("failed")  # out of retries after a second
    receiver.always(hang())  # held until the test ends: pending all along
    fourth_job = completed_job(alice)
    fourth = wait_delivery(alice, endpoint_id, fourth_job, "pending")["id"]
    newest_first = [fourth, third, second, first]

    def page(**params: object) -> tuple[list[str], bool]:
        body = deliveries(alice, endpoint_id, **params)
        WebhookDeliveryList.model_validate(body)
        assert body["object"] == "list"
        return [d["id"] for d in body["data"]], body["has_more"]

    assert page() == (newest_first, False)
    assert page(limit=2) == (newest_first[:2], True)
    assert page(limit=2, after=third) == (newest_first[2:], False)
    assert page(limit=2, after=first) == ([], False)
    walked, after = [], None
    while True:
        ids, more = page(limit=1, **({"after": after} if after else {}))
        walked += ids
        if not more:
            break
        after = ids[-1]
    assert walked == newest_first

    assert page(status="delivered") == ([second, first], False)
    assert page(status="delivered", limit=1) == ([second], True)
    assert page(status="delivered", limit=1, after=second) == ([first], False)
    assert page(status="failed") == ([third], False)
    assert page(status="pending") == ([fourth], False)
    assert page(status="pending", after=fourth) == ([], False)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bad_listing_query_is_a_validation_error(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False)
    alice = api.caller("alice")
    created = create_endpoint(alice, "http://127.0.0.1:9/hook")
    for params in (
        {"status": "sent"},
        {"status": "DELIVERED"},
        {"limit": 0},
        {"limit": 21},
        {"limit": "ten"},
        {"after": "we_0000000000"},
        {"after": "msg_"},
        {"after": "job_0000000000"},
    ):
        answered = alice.get(f"{ENDPOINTS}/{created['id']}/deliveries", params=params)
        assert answered.status_code == 400, (params, answered.text)
        assert answered.json()["error"]["code"] == "VALIDATION_ERROR"
