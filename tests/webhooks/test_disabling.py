"""Endpoints that are disabled: by a 410 Gone, by failing N attempts in a row, by the owner;
and turned back on with `PATCH {"status": "enabled"}`."""

from __future__ import annotations

from tests.support.api import MakeApi
from tests.support.contract import timestamp_ms
from tests.support.waiting import wait_until
from tests.webhooks.receiver import Receiver, status
from tests.webhooks.support import (
    ENDPOINTS,
    cancelled_job,
    completed_job,
    create_endpoint,
    deliveries,
    endpoint,
    patch,
    wait_delivery,
)


def test_410_gone_disables_the_endpoint_and_fails_its_pending_deliveries(
    make_api: MakeApi, receiver: Receiver
) -> None:
    # One attempt at a time, and no worker until both events are queued.
    api = make_api(embedded_worker=False, webhook_concurrency=1)
    alice = api.caller("alice")
    receiver.always(status(410))
    created = create_endpoint(alice, receiver.url)
    jobs = [cancelled_job(alice), cancelled_job(alice)]
    queued = deliveries(alice, created["id"])["data"]
    assert [d["status"] for d in queued] == ["pending", "pending"]

    with api.worker():
        gone = wait_until(
            lambda: (found := endpoint(alice, created["id"]))["status"] == "disabled" and found
        )
        ended = [wait_delivery(alice, created["id"], job_id, "failed") for job_id in jobs]

    assert gone["disabled_reason"].startswith("The endpoint answered 410 Gone at ")
    assert len(receiver.received()) == 1  # the other event was never sent
    answered, unsent = sorted(ended, key=lambda d: -len(d["attempts"]))
    assert [a["status_code"] for a in answered["attempts"]] == [410]
    assert unsent["attempts"] == []
    for failed in ended:
        assert failed["last_error"] == f"The endpoint was disabled: {gone['disabled_reason']}"
        assert failed["next_attempt_at"] is None
    # A disabled endpoint is sent no new events at all.
    assert {d["job_id"] for d in deliveries(alice, created["id"])["data"]} == set(jobs)


def test_failing_n_attempts_in_a_row_disables_until_enabled_again(
    make_api: MakeApi, receiver: Receiver
) -> None:
    api = make_api(webhook_disable_after_failures=3)
    alice = api.caller("alice")
    receiver.always(status(500))
    created = create_endpoint(alice, receiver.url)
    path = f"{ENDPOINTS}/{created['id']}"
    job_id = completed_job(alice)

    failed = wait_delivery(alice, created["id"], job_id, "failed")
    off = endpoint(alice, created["id"])
    assert off["status"] == "disabled"
    reason = off["disabled_reason"]
    assert reason.startswith("3 attempts in a row failed; the last, at ")
    assert reason.endswith(": HTTP 500")
    assert [a["status_code"] for a in failed["attempts"]] == [500, 500, 500]
    assert failed["last_error"] == f"The endpoint was disabled: {reason}"
    assert len(receiver.received()) == 3
    assert timestamp_ms(off["updated_at"]) >= timestamp_ms(failed["attempts"][-1]["started_at"])

    enabled = patch(alice, path, {"status": "enabled"})
    assert enabled.status_code == 200, enabled.text
    assert (enabled.json()["status"], enabled.json()["disabled_reason"]) == ("enabled", None)
    assert endpoint(alice, created["id"]) == enabled.json()
    # The count starts again from zero: two failures are not a third in a row.
    receiver.script(status(500), status(500))
    receiver.always(status(200))
    again = completed_job(alice)
    sent = wait_delivery(alice, created["id"], again, "delivered")
    assert [a["status_code"] for a in sent["attempts"]] == [500, 500, 200]
    assert endpoint(alice, created["id"])["status"] == "enabled"
    # What failed while it was disabled stays failed until it is retried.
    assert wait_delivery(alice, created["id"], job_id)["status"] == "failed"


def test_a_success_resets_the_count_of_failures_in_a_row(
    make_api: MakeApi, receiver: Receiver
) -> None:
    api = make_api(webhook_disable_after_failures=3)
    alice = api.caller("alice")
    created = create_endpoint(alice, receiver.url)
    receiver.script(status(500), status(500))
    first = completed_job(alice)
    wait_delivery(alice, created["id"], first, "delivered")
    receiver.script(status(500), status(500))
    second = completed_job(alice)
    sent = wait_delivery(alice, created["id"], second, "delivered")
    assert [a["status_code"] for a in sent["attempts"]] == [500, 500, 200]
    assert endpoint(alice, created["id"])["status"] == "enabled"


def test_the_owner_disabling_fails_pending_deliveries(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False)
    alice = api.caller("alice")
    created = create_endpoint(alice, "http://127.0.0.1:9/hook")
    job_id = cancelled_job(alice)
    off = patch(alice, f"{ENDPOINTS}/{created['id']}", {"status": "disabled"}).json()
    assert off["status"] == "disabled"
    assert off["disabled_reason"] == "disabled by its owner"
    (failed,) = deliveries(alice, created["id"])["data"]
    assert (failed["job_id"], failed["status"]) == (job_id, "failed")
    assert failed["last_error"] == "The endpoint was disabled: disabled by its owner"
    assert failed["attempts"] == []
