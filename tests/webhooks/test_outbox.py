"""The outbox: one delivery per endpoint that wants the event, queued in the job's
transaction, and an exact count of them (which decides whether senders are woken)."""

from __future__ import annotations

import sqlalchemy as sa

from nxdocs.db.schema import webhook_deliveries
from nxdocs.webhooks.outbox import WebhookOutbox
from tests.support.api import MakeApi
from tests.support.jobs import enqueue
from tests.webhooks.support import DECK, create_endpoint, patch


def test_the_outbox_queues_one_delivery_per_endpoint_that_wants_the_event(
    make_api: MakeApi,
) -> None:
    api = make_api(embedded_worker=False)
    alice, bob = api.caller("alice"), api.caller("bob")
    both = create_endpoint(alice, "http://127.0.0.1:9/both")
    completed = create_endpoint(alice, "http://127.0.0.1:9/completed", ("job.completed",))
    disabled = create_endpoint(alice, "http://127.0.0.1:9/disabled")
    patch(alice, f"/v1/webhook_endpoints/{disabled['id']}", {"status": "disabled"})
    create_endpoint(bob, "http://127.0.0.1:9/bob")
    system = api.system
    outbox = WebhookOutbox(system.clock, system.notifier, system.store.now_sql, retry_seconds=60)
    job_id = enqueue(system, alice.owner_id, DECK)

    with system.engine.begin() as connection:
        assert outbox.enqueue(connection, alice.owner_id, job_id, "job.failed") == 1
        assert outbox.enqueue(connection, alice.owner_id, job_id, "job.completed") == 2
        assert outbox.enqueue(connection, "user_nobody", job_id, "job.completed") == 0
    with system.engine.connect() as connection:
        rows = connection.execute(
            sa.select(webhook_deliveries.c.endpoint_id, webhook_deliveries.c.event_type)
        ).all()
    assert sorted(rows) == sorted(
        [
            (both["id"], "job.failed"),
            (both["id"], "job.completed"),
            (completed["id"], "job.completed"),
        ]
    )

    # Rolled back with the job's end, the events are gone too.
    with system.engine.connect() as connection, connection.begin() as transaction:
        assert outbox.enqueue(connection, alice.owner_id, job_id, "job.failed") == 1
        transaction.rollback()
    with system.engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(webhook_deliveries))
        assert count.scalar_one() == 3
