"""Delivering job events: signed, retried until a 2xx, the same event on every attempt."""

from __future__ import annotations

import itertools
import time

from nxdocs.db.schema import webhook_attempts, webhook_deliveries
from nxdocs.jobs.control import JobControl
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.contract import TIMESTAMP, timestamp_ms
from tests.support.waiting import wait_until
from tests.webhooks.receiver import Receiver, status
from tests.webhooks.support import (
    cancelled_job,
    completed_job,
    create_endpoint,
    deliveries,
    verified,
    wait_delivery,
)


def test_a_receiver_that_fails_three_times_gets_the_event_once_it_recovers(
    api: ServedApi, alice: Caller, receiver: Receiver
) -> None:
    receiver.script(status(500), status(503), status(500, b"still down"))
    created = create_endpoint(alice, receiver.url)
    secret = created["secret"]
    job_id = completed_job(alice)

    sent = wait_delivery(alice, created["id"], job_id, "delivered")
    requests = receiver.received()
    assert len(requests) == 4  # not marked delivered before the 2xx, not sent after it
    # Every attempt is the same event: the same webhook-id, the same bytes, each signed.
    assert {r.webhook_id for r in requests} == {sent["id"]}
    assert sent["id"].startswith("msg_")
    assert len({r.body for r in requests}) == 1
    for request in requests:
        assert request.path == "/hook"
        assert request.headers["content-type"] == "application/json"
        assert abs(int(request.headers["webhook-timestamp"]) - request.at) < 60
        assert request.headers["webhook-signature"].startswith("v1,")
        assert " " not in request.headers["webhook-signature"]  # one secret, one signature
        event = verified(secret, request)
    job = alice.job(job_id)
    assert event == {"type": "job.completed", "timestamp": job["updated_at"], "data": job}

    # The deliveries API tells the same story.
    assert sent["object"] == "webhook_delivery"
    assert sent["endpoint_id"] == created["id"]
    assert sent["event_type"] == "job.completed"
    assert sent["job_id"] == job_id
    assert sent["attempt_count"] == 4
    assert sent["last_status_code"] == 200
    assert sent["last_error"] is None
    assert sent["next_attempt_at"] is None
    attempts = sent["attempts"]
    assert [a["number"] for a in attempts] == [1, 2, 3, 4]
    assert [a["status_code"] for a in attempts] == [500, 503, 500, 200]
    assert [a["error"] for a in attempts] == [None] * 4
    assert [a["response"] for a in attempts] == [None, None, "still down", "ok"]
    starts = [timestamp_ms(a["started_at"]) for a in attempts]
    assert starts == sorted(starts)
    for before, after in itertools.pairwise(attempts):
        # Each attempt began after the one before it had ended.
        assert timestamp_ms(after["started_at"]) >= (
            timestamp_ms(before["started_at"]) + before["duration_ms"] - 1
        )
    assert all(a["duration_ms"] >= 0 for a in attempts)
    assert TIMESTAMP.match(sent["delivered_at"])
    assert timestamp_ms(sent["delivered_at"]) >= starts[-1]
    assert timestamp_ms(sent["created_at"]) <= starts[0]


def test_a_delivery_stays_pending_while_every_answer_is_an_error(
    api: ServedApi, alice: Caller, receiver: Receiver
) -> None:
    receiver.script(status(400), status(404), status(302, headers={"Location": receiver.url}))
    receiver.always(status(500))
    created = create_endpoint(alice, receiver.url)
    job_id = completed_job(alice)

    failing = wait_delivery(alice, created["id"], job_id, "pending", attempts=4)
    assert [a["status_code"] for a in failing["attempts"][:4]] == [400, 404, 302, 500]
    assert failing["delivered_at"] is None
    assert failing["next_attempt_at"] is not None
    assert failing["last_status_code"] == failing["attempts"][-1]["status_code"]
    assert alice.ok(f"/v1/webhook_endpoints/{created['id']}")["status"] == "enabled"

    receiver.always(status(204))  # any 2xx delivers
    delivered = wait_delivery(alice, created["id"], job_id, "delivered")
    assert delivered["attempts"][-1]["status_code"] == 204
    assert delivered["last_status_code"] == 204
    assert all(a["status_code"] != 204 for a in delivered["attempts"][:-1])


def test_a_job_that_ends_while_the_receiver_is_down_is_delivered_when_it_is_back(
    api: ServedApi, alice: Caller, receiver: Receiver
) -> None:
    created = create_endpoint(alice, receiver.url)
    receiver.stop()
    job_id = completed_job(alice)
    refused = wait_delivery(alice, created["id"], job_id, "pending", attempts=1)
    assert refused["attempts"][0]["status_code"] is None
    assert refused["attempts"][0]["error"].startswith("The request failed")

    receiver.start()
    delivered = wait_delivery(alice, created["id"], job_id, "delivered")
    (request,) = receiver.received()
    assert request.webhook_id == delivered["id"]
    assert verified(created["secret"], request)["data"]["id"] == job_id
    assert delivered["attempts"][-1]["status_code"] == 200


def test_each_endpoint_gets_the_event_with_one_id(
    api: ServedApi, alice: Caller, receiver: Receiver, second_receiver: Receiver
) -> None:
    first = create_endpoint(alice, receiver.url)
    second = create_endpoint(alice, second_receiver.url)
    job_id = completed_job(alice)
    one = wait_delivery(alice, first["id"], job_id, "delivered")
    other = wait_delivery(alice, second["id"], job_id, "delivered")
    assert one["id"] == other["id"]  # the event's id, whichever endpoint it goes to
    (to_first,) = receiver.received()
    (to_second,) = second_receiver.received()
    assert verified(first["secret"], to_first) == verified(second["secret"], to_second)
    assert first["secret"] != second["secret"]


def test_sending_does_not_wait_for_the_poll_interval(make_api: MakeApi, receiver: Receiver) -> None:
    """The outbox's notification wakes the sender: an event goes out well before the
    (here: very long) poll interval would have found it."""
    api = make_api(poll_interval_seconds=30)
    alice = api.caller("alice")
    created = create_endpoint(alice, receiver.url)
    began = time.monotonic()
    job_id = completed_job(alice)
    wait_delivery(alice, created["id"], job_id, "delivered", timeout=20)
    assert time.monotonic() - began < 20


def test_several_senders_send_each_event_once(make_api: MakeApi, receiver: Receiver) -> None:
    api = make_api(embedded_worker=False)
    alice = api.caller("alice")
    created = create_endpoint(alice, receiver.url, ("job.failed",))
    jobs = [cancelled_job(alice) for _ in range(8)]
    assert len(deliveries(alice, created["id"], limit=20)["data"]) == 8

    with api.worker(), api.worker():  # two workers, each with its own sender
        sent = [wait_delivery(alice, created["id"], job_id, "delivered") for job_id in jobs]
    ids = [r.webhook_id for r in receiver.received()]
    assert sorted(ids) == sorted(d["id"] for d in sent)  # each once, none twice
    assert all(d["attempt_count"] == 1 for d in sent)


def test_every_attempt_sends_the_same_bytes_after_the_job_is_deleted(
    api: ServedApi, alice: Caller, receiver: Receiver
) -> None:
    receiver.always(status(500))
    created = create_endpoint(alice, receiver.url)
    job_id = completed_job(alice)
    wait_delivery(alice, created["id"], job_id, "pending", attempts=1)
    assert JobControl(api.system.store).delete_finished(api.system.clock.now_ms() + 60_000)
    # Gone (the poll cache drops it once the deletion's notification arrives).
    wait_until(lambda: alice.get(f"/v1/jobs/{job_id}").status_code == 404)

    receiver.always(status(200))
    wait_delivery(alice, created["id"], job_id, "delivered")
    requests = receiver.received()
    assert len(requests) >= 2
    assert len({r.body for r in requests}) == 1
    assert verified(created["secret"], requests[-1])["data"]["id"] == job_id


def test_an_event_whose_job_is_deleted_before_its_first_attempt_fails(
    make_api: MakeApi, receiver: Receiver
) -> None:
    api = make_api(embedded_worker=False)
    alice = api.caller("alice")
    created = create_endpoint(alice, receiver.url)
    job_id = cancelled_job(alice)
    assert JobControl(api.system.store).delete_finished(api.system.clock.now_ms() + 60_000)
    with api.worker():
        failed = wait_delivery(alice, created["id"], job_id, "failed")
    assert failed["last_error"] == "The job was deleted before its event could be sent."
    assert failed["attempts"] == []
    assert receiver.received() == []


def test_retention_deletes_finished_deliveries_with_their_attempts(
    api: ServedApi, alice: Caller, receiver: Receiver
) -> None:
    created = create_endpoint(alice, receiver.url)
    delivered = completed_job(alice)
    wait_delivery(alice, created["id"], delivered, "delivered")
    receiver.always(status(500))
    pending = completed_job(alice)
    wait_delivery(alice, created["id"], pending, "pending", attempts=1)

    purged = api.system.deliveries.purge(api.system.clock.now_ms() + 60_000)
    assert purged == 1
    assert [d["job_id"] for d in deliveries(alice, created["id"])["data"]] == [pending]
    assert {row["job_id"] for row in api.rows(webhook_deliveries)} == {pending}
    assert api.count(webhook_attempts) >= 1
    assert all(row["delivery_id"] != delivered for row in api.rows(webhook_attempts))
