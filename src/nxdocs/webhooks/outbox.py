"""Job events into webhook deliveries, in the transaction that ends the job.

`WebhookOutbox` is one of the job store's hooks (`HandlerRegistry.observe`):
whenever a job reaches its terminal state (completed, failed, cancelled, out
of attempts), one statement inserts a pending delivery for each of the
owner's enabled endpoints that wants the event. So an event exists exactly
when the job's end is committed: none is lost between the commit and a send,
and none is sent for an end that was rolled back. An owner with no endpoints
costs one indexed read of none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from nxdocs.clock import Clock
from nxdocs.db.schema import webhook_deliveries, webhook_endpoints
from nxdocs.ids import new_id
from nxdocs.jobs.model import ClaimedJob, ErrorInfo
from nxdocs.jobs.notify import Notifier
from nxdocs.jobs.store import database_now
from nxdocs.webhooks.model import JOB_COMPLETED, JOB_FAILED, PENDING

_COLUMNS = (
    "endpoint_id",
    "id",
    "owner_id",
    "event_type",
    "job_id",
    "state",
    "attempts",
    "next_attempt_at",
    "retry_until",
    "created_at",
    "updated_at",
)


class WebhookOutbox:
    def __init__(
        self, clock: Clock, notifier: Notifier, now_sql: str, *, retry_seconds: int
    ) -> None:
        self.clock = clock
        self.notifier = notifier
        self.retry_ms = retry_seconds * 1000
        db_now = database_now(now_sql)
        endpoints = webhook_endpoints.c
        # `preserve_rowcount`: psycopg's rowcount of an INSERT ... SELECT is -1
        # unless asked for, and -1 would wake every sender at every job's end.
        self._insert = (
            webhook_deliveries.insert()
            .from_select(
                _COLUMNS,
                sa.select(
                    endpoints.id,
                    sa.bindparam("message_id", type_=sa.String),
                    endpoints.owner_id,
                    sa.bindparam("event_type", type_=sa.String),
                    sa.bindparam("job_id", type_=sa.String),
                    sa.literal(PENDING),
                    sa.literal(0),
                    db_now,
                    db_now + sa.bindparam("retry_ms", type_=sa.BigInteger),
                    sa.bindparam("now", type_=sa.BigInteger),
                    sa.bindparam("now", type_=sa.BigInteger),
                ).where(
                    endpoints.owner_id == sa.bindparam("owner_id", type_=sa.String),
                    endpoints.disabled_at.is_(None),
                    endpoints.events.like(sa.bindparam("pattern", type_=sa.String)),
                ),
            )
            .execution_options(preserve_rowcount=True)
        )

        # Built once: a batch's completions are the hot path.
        self._listening = (
            sa.select(endpoints.owner_id)
            .distinct()
            .where(
                endpoints.owner_id.in_(sa.bindparam("owners", expanding=True)),
                endpoints.disabled_at.is_(None),
                endpoints.events.like(f'%"{JOB_COMPLETED}"%'),
            )
        )

    def enqueue(
        self, connection: sa.Connection, owner_id: str, job_id: str, event_type: str
    ) -> int:
        """Queue `event_type` of the job for each endpoint that wants it; how many."""
        now = self.clock.now_ms()
        queued = connection.execute(
            self._insert,
            {
                "message_id": new_id("msg", now),
                "event_type": event_type,
                "job_id": job_id,
                "retry_ms": self.retry_ms,
                "now": now,
                "owner_id": owner_id,
                "pattern": f'%"{event_type}"%',
            },
        ).rowcount
        if queued:
            self.notifier.deliveries_due(connection)
        return queued

    # -- the job store's hooks ---------------------------------------------

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        self.enqueue(connection, job.owner_id, job.id, JOB_COMPLETED)

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        self.enqueue(connection, job.owner_id, job.id, JOB_FAILED)

    def on_succeeded_many(
        self, connection: sa.Connection, done: Sequence[tuple[ClaimedJob, dict[str, Any]]]
    ) -> None:
        """One read finds which of the batch's owners listen for completions (most
        often none); only their jobs cost an insert each."""
        owners = sorted({job.owner_id for job, _ in done})
        listening = set(connection.execute(self._listening, {"owners": owners}).scalars())
        for job, _ in done:
            if job.owner_id in listening:
                self.enqueue(connection, job.owner_id, job.id, JOB_COMPLETED)
