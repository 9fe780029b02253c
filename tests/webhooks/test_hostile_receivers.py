"""Receivers that misbehave: each attempt fails and is recorded, none hangs the sender,
and the delivery goes out once the receiver behaves. The sending side does not depend on
the database, so these run on SQLite only."""

from __future__ import annotations

import pytest

from tests.support.api import MakeApi
from tests.webhooks.receiver import Receiver, big, drip, hang, redirect
from tests.webhooks.support import completed_job, create_endpoint, verified, wait_delivery

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

TEN_MB = 10 * 1024 * 1024


def test_a_ten_megabyte_answer_is_a_failed_attempt(make_api: MakeApi, receiver: Receiver) -> None:
    api = make_api(webhook_max_response_bytes=65_536)
    alice = api.caller("alice")
    receiver.script(big(TEN_MB))
    created = create_endpoint(alice, receiver.url)
    job_id = completed_job(alice)

    sent = wait_delivery(alice, created["id"], job_id, "delivered")
    first, second = sent["attempts"]
    assert first["status_code"] is None
    assert first["error"] == "The response body is larger than 65536 bytes."
    assert first["response"] is None
    assert second["status_code"] == 200
    assert len(receiver.received()) == 2


def test_a_redirect_is_not_followed(make_api: MakeApi, receiver: Receiver) -> None:
    api = make_api()
    alice = api.caller("alice")
    elsewhere = receiver.url.replace("/hook", "/elsewhere")
    receiver.script(redirect(elsewhere), redirect(elsewhere, 307))
    created = create_endpoint(alice, receiver.url)
    job_id = completed_job(alice)

    sent = wait_delivery(alice, created["id"], job_id, "delivered")
    assert [(a["status_code"], a["error"]) for a in sent["attempts"]] == [
        (302, "HTTP 302: redirects are not followed"),
        (307, "HTTP 307: redirects are not followed"),
        (200, None),
    ]
    # Every request went to the endpoint's URL; the Location was never asked for.
    assert [r.path for r in receiver.received()] == ["/hook"] * 3


def test_a_receiver_that_never_answers_fails_the_attempt_at_the_timeout(
    make_api: MakeApi, receiver: Receiver
) -> None:
    api = make_api(webhook_timeout_seconds=1.0)
    alice = api.caller("alice")
    receiver.script(hang())
    created = create_endpoint(alice, receiver.url)
    job_id = completed_job(alice)

    sent = wait_delivery(alice, created["id"], job_id, "delivered")
    timed_out = sent["attempts"][0]
    assert timed_out["status_code"] is None
    assert timed_out["error"] == "No complete answer within 1 seconds."
    assert timed_out["duration_ms"] >= 1000
    assert sent["attempts"][-1]["status_code"] == 200
    assert verified(created["secret"], receiver.received()[-1])["data"]["id"] == job_id


def test_an_answer_that_trickles_in_fails_the_attempt_at_its_deadline(
    make_api: MakeApi, receiver: Receiver
) -> None:
    """Each read gets a byte in time, but the whole attempt has a deadline."""
    api = make_api(webhook_timeout_seconds=1.0)
    alice = api.caller("alice")
    receiver.script(drip(0.05))
    created = create_endpoint(alice, receiver.url)
    job_id = completed_job(alice)

    sent = wait_delivery(alice, created["id"], job_id, "delivered")
    slow = sent["attempts"][0]
    assert slow["error"] == "No complete answer within 1 seconds."
    assert slow["duration_ms"] >= 3000  # three times the step timeout: the attempt's deadline
    assert sent["attempts"][-1]["status_code"] == 200


def test_a_worker_whose_allow_list_refuses_the_address_does_not_send(
    make_api: MakeApi, receiver: Receiver
) -> None:
    """The endpoint was created while 127.0.0.0/8 was allowed; the worker that sends
    allows no private address, so it refuses at send time and the receiver hears nothing."""
    lenient = make_api(embedded_worker=False)
    alice = lenient.caller("alice")
    created = create_endpoint(alice, receiver.url)
    make_api(webhook_allowed_networks="")  # the worker: runs the job, sends its event
    job_id = completed_job(alice)

    refused = wait_delivery(alice, created["id"], job_id, "pending", attempts=2)
    for attempt in refused["attempts"]:
        assert attempt["status_code"] is None
        assert attempt["error"] == "The URL's host resolves to an address that is not allowed."
    assert receiver.received() == []


def test_an_answer_of_exactly_the_limit_is_read(make_api: MakeApi, receiver: Receiver) -> None:
    api = make_api(webhook_max_response_bytes=1000)
    alice = api.caller("alice")
    receiver.script(big(1001), big(1000))
    created = create_endpoint(alice, receiver.url)
    job_id = completed_job(alice)

    sent = wait_delivery(alice, created["id"], job_id, "delivered")
    too_long, read = sent["attempts"]
    assert too_long["error"] == "The response body is larger than 1000 bytes."
    assert (read["status_code"], read["error"], read["response"]) == (200, None, "x" * 1000)
