"""Senders and jobs writing at once on PostgreSQL, where rows are locked (on SQLite the
writers take turns): outcomes recorded together while one of them disables the endpoint,
and an event queued by a job's transaction as the endpoint is being disabled."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from nxdocs.db.schema import webhook_attempts, webhook_deliveries
from nxdocs.webhooks.deliveries import ClaimedDelivery, Outcome
from nxdocs.webhooks.outbox import WebhookOutbox
from tests.support.api import MakeApi
from tests.support.jobs import enqueue
from tests.webhooks.support import (
    DECK,
    cancelled_job,
    create_endpoint,
    deliveries,
    delivery_of,
    endpoint,
    wait_delivery,
)

EVENTS = 24


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_outcomes_recorded_together_while_the_endpoint_is_disabled(make_api: MakeApi) -> None:
    api = make_api(embedded_worker=False, webhook_disable_after_failures=4)
    alice = api.caller("alice")
    created = create_endpoint(alice, "http://127.0.0.1:9/hook", ("job.failed",))
    system = api.system
    outbox = WebhookOutbox(system.clock, system.notifier, system.store.now_sql, retry_seconds=60)
    job_id = enqueue(system, alice.owner_id, DECK)
    with system.engine.begin() as connection:
        for _ in range(EVENTS):  # as many events (each its own id) as it takes
            outbox.enqueue(connection, alice.owner_id, job_id, "job.failed")
    store = api.system.deliveries
    claimed = store.claim(EVENTS, hold_seconds=600)
    assert len(claimed) == EVENTS

    start = threading.Barrier(EVENTS)
    now = api.system.clock.now_ms()

    def record(delivery: ClaimedDelivery) -> bool:
        start.wait(timeout=30)
        return store.record(delivery, Outcome(now, 5, 500, None, "down"))

    # Every record returns (none fails on a deadlock); those that came after the
    # endpoint was disabled find their delivery failed already, and write nothing.
    with ThreadPoolExecutor(EVENTS) as pool:
        recorded = list(pool.map(record, claimed))
    assert recorded.count(True) >= 4
    assert api.count(webhook_attempts) == recorded.count(True)

    off = endpoint(alice, created["id"])
    assert off["status"] == "disabled"
    assert off["disabled_reason"].startswith("4 attempts in a row failed")
    assert {d["status"] for d in deliveries(alice, created["id"], limit=20)["data"]} == {"failed"}
    states = [row["state"] for row in api.rows(webhook_deliveries)]
    assert states == ["failed"] * EVENTS


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_event_queued_while_a_send_disables_the_endpoint_fails_too(
    make_api: MakeApi,
) -> None:
    """The job's transaction reads the endpoint as enabled and queues its event; before it
    commits, a 410 disables the endpoint and fails what it sees pending: not that event.
    The sender fails it when it comes across it, instead of leaving it pending."""
    api = make_api(embedded_worker=False)
    alice = api.caller("alice")
    created = create_endpoint(alice, "http://127.0.0.1:9/hook")
    cancelled_job(alice)
    (sending,) = api.system.deliveries.claim(1, hold_seconds=600)
    outbox = WebhookOutbox(
        api.system.clock, api.system.notifier, api.system.store.now_sql, retry_seconds=3600
    )
    late_job = enqueue(api.system, alice.owner_id, DECK)  # never run: no job loop here

    with api.system.engine.begin() as connection:
        assert outbox.enqueue(connection, alice.owner_id, late_job, "job.failed") == 1
        gone = Outcome(api.system.clock.now_ms(), 5, 410, None, None)
        assert api.system.deliveries.record(sending, gone)
    assert endpoint(alice, created["id"])["status"] == "disabled"
    assert delivery_of(alice, created["id"], late_job)["status"] == "pending"  # type: ignore[index]

    stop = threading.Event()
    sender = threading.Thread(target=api.system.webhook_sender().run, args=(stop,))
    sender.start()
    try:
        failed = wait_delivery(alice, created["id"], late_job, "failed")
    finally:
        stop.set()
        sender.join(timeout=30)
    assert failed["last_error"].startswith("The endpoint was disabled: The endpoint answered 410")
    assert failed["attempts"] == []
