"""Webhook deliveries: claimed by the senders, their attempts recorded, listed, resent.

A claim takes due deliveries, oldest first (PostgreSQL: `FOR UPDATE SKIP
LOCKED`, so senders of several workers never take the same row; SQLite: its
one writer), fails those of disabled endpoints, counts the attempt, and
pushes the delivery's `next_attempt_at` past the attempt's timeout: a sender
that dies mid-attempt leaves the delivery due again then, and it is sent
again (at least once; receivers deduplicate by `webhook-id`). Recording an
outcome locks the endpoint's row first (so records that disable it never
deadlock) and is fenced on the attempt's number, so a late sender cannot
overwrite a newer attempt.

The body is built at the first claim from the job row and kept, so every
attempt sends the same bytes even once the job itself is purged.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from nxdocs.clock import Clock, format_timestamp
from nxdocs.db.engine import read_only
from nxdocs.db.pagination import cursor_position, older_than
from nxdocs.db.schema import jobs, webhook_attempts, webhook_deliveries, webhook_endpoints
from nxdocs.jobs.retry import RetryIn, RetryPolicy
from nxdocs.jobs.store import database_now
from nxdocs.poll.public import JobRow, job_json
from nxdocs.webhooks.endpoints import disable, disabled_error
from nxdocs.webhooks.model import DELIVERED, FAILED, PENDING, Attempt, Delivery

# The attempts a delivery's listing shows, newest last.
MAX_LISTED_ATTEMPTS = 20
_JOB_COLUMNS = [jobs.c[name] for name in JobRow._fields]

_d = webhook_deliveries.c
_e = webhook_endpoints.c


class EndpointDisabledError(Exception):
    """A resend was asked of a disabled endpoint's delivery."""


@dataclass(frozen=True)
class ClaimedDelivery:
    """One attempt to make: where, what, and the secrets to sign it with."""

    endpoint_id: str
    id: str
    owner_id: str
    url: str
    payload: str
    attempt: int
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    started_at: int
    duration_ms: int
    status_code: int | None
    error: str | None
    response: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver asks never to be sent anything again."""
        return self.error is None and self.status_code == 410


@dataclass(frozen=True)
class RetryRules:
    policy: RetryPolicy
    disable_after_failures: int


class DeliveryStore:
    def __init__(self, engine: sa.Engine, clock: Clock, now_sql: str, rules: RetryRules) -> None:
        self.engine = engine
        self.reads = read_only(engine)
        self.clock = clock
        self.rules = rules
        self._db_now = database_now(now_sql)
        self._rng = random.Random()  # noqa: S311 (jitter, not a secret)

    # -- the sender's side --------------------------------------------------

    def claim(self, limit: int, hold_seconds: float) -> list[ClaimedDelivery]:
        """Up to `limit` due deliveries, each counted as an attempt and held for
        `hold_seconds` (longer than an attempt can take)."""
        now = self.clock.now_ms()
        due = (
            sa.select(_d.endpoint_id, _d.id, _d.owner_id, _d.job_id, _d.event_type, _d.payload)
            .add_columns(_d.attempts, _e.url, _e.secret, _e.previous_secret)
            .add_columns(_e.previous_secret_expires_at, _e.disabled_at, _e.disabled_reason)
            .join(webhook_endpoints, webhook_endpoints.c.id == _d.endpoint_id)
            .where(_d.state == PENDING, _d.next_attempt_at <= self._db_now)
            .order_by(_d.next_attempt_at)
            .limit(limit)
            .with_for_update(of=webhook_deliveries, skip_locked=True)
        )
        claimed = []
        with self.engine.begin() as connection:
            found = connection.execute(due).all()
            # Disabling fails the endpoint's pending deliveries, but on PostgreSQL an
            # event queued by a job's transaction that read the endpoint as enabled
            # can commit just after: it fails here, not left pending (and due) forever.
            rows = [row for row in found if row.disabled_at is None]
            for row in found:
                if row.disabled_at is not None:
                    connection.execute(
                        webhook_deliveries.update()
                        .where(*_key(row.endpoint_id, row.id))
                        .values(
                            state=FAILED,
                            last_error=disabled_error(row.disabled_reason),
                            updated_at=now,
                        )
                    )
            bodies = self._bodies(connection, [row for row in rows if row.payload is None])
            for row in rows:
                payload = row.payload or bodies.get((row.endpoint_id, row.id))
                key = _key(row.endpoint_id, row.id)
                if payload is None:
                    connection.execute(
                        webhook_deliveries.update()
                        .where(*key)
                        .values(
                            state=FAILED,
                            last_error="The job was deleted before its event could be sent.",
                            updated_at=now,
                        )
                    )
                    continue
                connection.execute(
                    webhook_deliveries.update()
                    .where(*key)
                    .values(
                        payload=payload,
                        attempts=_d.attempts + 1,
                        next_attempt_at=self._db_now + int(hold_seconds * 1000),
                    )
                )
                claimed.append(
                    ClaimedDelivery(
                        endpoint_id=row.endpoint_id,
                        id=row.id,
                        owner_id=row.owner_id,
                        url=row.url,
                        payload=payload,
                        attempt=row.attempts + 1,
                        secrets=_signing_secrets(row, now),
                    )
                )
        return claimed

    def _bodies(self, connection: sa.Connection, rows: Sequence[Any]) -> dict[tuple[str, str], str]:
        """The payload of each of these first attempts: `type`, `timestamp` (when the
        job ended) and `data`, the job object as `GET /v1/jobs/{id}` shows it."""
        if not rows:
            return {}
        job_ids = {row.job_id for row in rows}
        found = {
            job.id: job
            for job in (
                JobRow(*values)
                for values in connection.execute(
                    sa.select(*_JOB_COLUMNS).where(jobs.c.id.in_(job_ids))
                )
            )
        }
        bodies = {}
        for row in rows:
            job = found.get(row.job_id)
            if job is None:
                continue
            body, _ = job_json(job)
            bodies[(row.endpoint_id, row.id)] = orjson.dumps(
                {
                    "type": row.event_type,
                    "timestamp": format_timestamp(job.updated_at),
                    "data": orjson.Fragment(body),
                }
            ).decode()
        return bodies

    def record(self, delivery: ClaimedDelivery, outcome: Outcome) -> bool:
        """Write the attempt's outcome; False if a newer attempt has taken the delivery."""
        now = self.clock.now_ms()
        key = _key(delivery.endpoint_id, delivery.id)
        with self.engine.begin() as connection:
            # The endpoint's row first, as the API's changes lock it: records of one
            # endpoint take turns, so one that disables it (locking the endpoint's
            # pending deliveries) never waits for a delivery another record holds
            # while that one waits for the endpoint (a deadlock on PostgreSQL). No
            # KEY: the foreign-key checks of new deliveries do not wait for it.
            connection.execute(
                sa.select(_e.id)
                .where(_e.id == delivery.endpoint_id)
                .with_for_update(key_share=True)
            ).first()
            held = connection.execute(
                sa.select(_d.retry_until, self._db_now.label("db_now"))
                .where(*key, _d.state == PENDING, _d.attempts == delivery.attempt)
                .with_for_update()
            ).one_or_none()
            if held is None:
                return False
            connection.execute(
                webhook_attempts.insert().values(
                    endpoint_id=delivery.endpoint_id,
                    delivery_id=delivery.id,
                    number=delivery.attempt,
                    started_at=outcome.started_at,
                    duration_ms=outcome.duration_ms,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    response=outcome.response,
                )
            )
            values: dict[str, Any] = {
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
                "updated_at": now,
            }
            if outcome.delivered:
                connection.execute(
                    webhook_deliveries.update()
                    .where(*key)
                    .values(**values, state=DELIVERED, delivered_at=now)
                )
                connection.execute(
                    webhook_endpoints.update()
                    .where(_e.id == delivery.endpoint_id, _e.consecutive_failures != 0)
                    .values(consecutive_failures=0)
                )
                return True
            connection.execute(webhook_deliveries.update().where(*key).values(**values))
            reason = self._failure_reason(connection, delivery, outcome)
            if reason is not None:
                disable(connection, delivery.endpoint_id, reason, now)
                return True
            decision = self.rules.policy.decide(
                attempt=delivery.attempt, max_attempts=2**31, rng=self._rng
            )
            delay_ms = decision.delay_ms if isinstance(decision, RetryIn) else 0
            if held.db_now + delay_ms > held.retry_until:
                connection.execute(
                    webhook_deliveries.update()
                    .where(*key)
                    .values(
                        state=FAILED,
                        last_error=_gave_up(delivery.attempt, outcome),
                    )
                )
            else:
                connection.execute(
                    webhook_deliveries.update()
                    .where(*key)
                    .values(next_attempt_at=held.db_now + delay_ms)
                )
        return True

    def record_delivered(self, done: Sequence[tuple[ClaimedDelivery, Outcome]]) -> int:
        """Write many successful attempts in one transaction (the sender's common case:
        a handful of statements for the batch instead of five per delivery); how
        many were still held by their attempt (the others are left as they are)."""
        now = self.clock.now_ms()
        endpoint_ids = sorted({delivery.endpoint_id for delivery, _ in done})
        by_status: dict[int | None, list[tuple[str, str, int]]] = {}
        for delivery, outcome in done:
            key = (delivery.endpoint_id, delivery.id, delivery.attempt)
            by_status.setdefault(outcome.status_code, []).append(key)
        with self.engine.begin() as connection:
            # Endpoint rows first and in one order, as `record` takes them.
            connection.execute(
                sa.select(_e.id)
                .where(_e.id.in_(endpoint_ids))
                .order_by(_e.id)
                .with_for_update(key_share=True)
            ).all()
            held: set[tuple[str, str]] = set()
            for status, keys in by_status.items():
                rows = connection.execute(
                    webhook_deliveries.update()
                    .where(
                        sa.tuple_(_d.endpoint_id, _d.id, _d.attempts).in_(keys),
                        _d.state == PENDING,
                    )
                    .values(
                        state=DELIVERED,
                        delivered_at=now,
                        updated_at=now,
                        last_status_code=status,
                        last_error=None,
                    )
                    .returning(_d.endpoint_id, _d.id)
                ).all()
                held.update((row.endpoint_id, row.id) for row in rows)
            attempts = [
                {
                    "endpoint_id": delivery.endpoint_id,
                    "delivery_id": delivery.id,
                    "number": delivery.attempt,
                    "started_at": outcome.started_at,
                    "duration_ms": outcome.duration_ms,
                    "status_code": outcome.status_code,
                    "error": outcome.error,
                    "response": outcome.response,
                }
                for delivery, outcome in done
                if (delivery.endpoint_id, delivery.id) in held
            ]
            if attempts:
                connection.execute(webhook_attempts.insert(), attempts)
                connection.execute(
                    webhook_endpoints.update()
                    .where(
                        _e.id.in_({row["endpoint_id"] for row in attempts}),
                        _e.consecutive_failures != 0,
                    )
                    .values(consecutive_failures=0)
                )
        return len(attempts)

    def _failure_reason(
        self, connection: sa.Connection, delivery: ClaimedDelivery, outcome: Outcome
    ) -> str | None:
        """Count the endpoint's failure; why it is to be disabled now, or None."""
        if outcome.gone:
            return f"The endpoint answered 410 Gone at {format_timestamp(outcome.started_at)}."
        failures = connection.execute(
            webhook_endpoints.update()
            .where(_e.id == delivery.endpoint_id)
            .values(consecutive_failures=_e.consecutive_failures + 1)
            .returning(_e.consecutive_failures)
        ).scalar_one_or_none()
        limit = self.rules.disable_after_failures
        if failures is None or failures < limit:
            return None
        return (
            f"{failures} attempts in a row failed; the last, at "
            f"{format_timestamp(outcome.started_at)}: {_describe(outcome)}"
        )

    def next_due_in(self) -> float | None:
        """Seconds until the next pending delivery is due (0 if one is), or None."""
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(sa.func.min(_d.next_attempt_at), self._db_now).where(_d.state == PENDING)
            ).one()
        due: int | None = row[0]
        now: int = row[1]
        if due is None:
            return None
        return max(0.0, (due - now) / 1000)

    # -- the API's side -------------------------------------------------------

    def page(
        self, endpoint_id: str, *, limit: int, after: str | None, state: str | None = None
    ) -> tuple[list[Delivery], bool]:
        """The endpoint's deliveries, newest first, `limit`/`after` as every list."""
        query = sa.select(webhook_deliveries).where(_d.endpoint_id == endpoint_id)
        if state is not None:
            query = query.where(_d.state == state)
        with self.reads.connect() as connection:
            _one_snapshot(connection)
            if after is not None:
                query = query.where(
                    older_than(
                        webhook_deliveries,
                        cursor_position(
                            connection,
                            webhook_deliveries,
                            None,
                            after,
                            within=_d.endpoint_id == endpoint_id,
                        ),
                    )
                )
            rows = connection.execute(
                query.order_by(_d.created_at.desc(), _d.id.desc()).limit(limit + 1)
            ).all()
            page = rows[:limit]
            attempts = self._attempts(connection, endpoint_id, [row.id for row in page])
        deliveries = [_delivery(row._mapping, attempts.get(row.id, ())) for row in page]
        return deliveries, len(rows) > limit

    def get(self, endpoint_id: str, delivery_id: str) -> Delivery | None:
        with self.reads.connect() as connection:
            _one_snapshot(connection)
            row = connection.execute(
                sa.select(webhook_deliveries).where(*_key(endpoint_id, delivery_id))
            ).one_or_none()
            if row is None:
                return None
            attempts = self._attempts(connection, endpoint_id, [delivery_id])
        return _delivery(row._mapping, attempts.get(delivery_id, ()))

    def retry(
        self,
        endpoint_id: str,
        delivery_id: str,
        notify: Callable[[sa.Connection], None] | None = None,
    ) -> Delivery | None:
        """Send the delivery again now: once more if it had ended (delivered or
        failed), or at once if it was waiting for its next attempt. Raises
        `EndpointDisabledError` on a disabled endpoint. `notify` (the notifier's
        `deliveries_due`) is called in the transaction, so idle senders wake."""
        now = self.clock.now_ms()
        key = _key(endpoint_id, delivery_id)
        with self.engine.begin() as connection:
            row = connection.execute(
                sa.select(_d.state, _e.disabled_at)
                .join(webhook_endpoints, _e.id == _d.endpoint_id)
                .where(*key)
                .with_for_update(of=webhook_deliveries)
            ).one_or_none()
            if row is None:
                return None
            if row.disabled_at is not None:
                raise EndpointDisabledError
            values: dict[str, Any] = {"next_attempt_at": self._db_now, "updated_at": now}
            if row.state != PENDING:
                # One more attempt: its horizon ends now, so a failure is final.
                values.update(state=PENDING, retry_until=self._db_now, delivered_at=None)
            connection.execute(webhook_deliveries.update().where(*key).values(**values))
            if notify is not None:
                notify(connection)
        return self.get(endpoint_id, delivery_id)

    def purge(self, finished_before_ms: int, *, batch: int = 1000) -> int:
        """Delete delivered and failed deliveries (and their attempts) last changed
        before the cutoff; at most `batch` per call."""
        old = (
            sa.select(_d.endpoint_id, _d.id)
            .where(_d.updated_at < finished_before_ms, _d.state != PENDING)
            .limit(batch)
        )
        with self.engine.begin() as connection:
            keys = [tuple(row) for row in connection.execute(old)]
            if keys:
                connection.execute(
                    webhook_deliveries.delete().where(sa.tuple_(_d.endpoint_id, _d.id).in_(keys))
                )
        return len(keys)

    @staticmethod
    def _attempts(
        connection: sa.Connection, endpoint_id: str, delivery_ids: list[str]
    ) -> dict[str, tuple[Attempt, ...]]:
        if not delivery_ids:
            return {}
        a = webhook_attempts.c
        rows = connection.execute(
            sa.select(webhook_attempts)
            .where(a.endpoint_id == endpoint_id, a.delivery_id.in_(delivery_ids))
            .order_by(a.delivery_id, a.number)
        ).all()
        found: dict[str, list[Attempt]] = {}
        for row in rows:
            found.setdefault(row.delivery_id, []).append(
                Attempt(
                    row.number,
                    row.started_at,
                    row.duration_ms,
                    row.status_code,
                    row.error,
                    row.response,
                )
            )
        return {key: tuple(value[-MAX_LISTED_ATTEMPTS:]) for key, value in found.items()}


def _one_snapshot(connection: sa.Connection) -> None:
    """Let the transaction's reads see one snapshot, so a delivery and its attempts
    agree (an attempt and the delivery's new state are committed together).
    SQLite's read transaction has one already; PostgreSQL's default level takes a
    snapshot per statement."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _key(endpoint_id: str, delivery_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (_d.endpoint_id == endpoint_id, _d.id == delivery_id)


def _signing_secrets(row: Any, now: int) -> tuple[str, ...]:
    """The current secret, and the previous one while its overlap lasts."""
    expires = row.previous_secret_expires_at
    if row.previous_secret and expires is not None and expires > now:
        return (row.secret, row.previous_secret)
    return (row.secret,)


def _describe(outcome: Outcome) -> str:
    if outcome.error is not None:
        return outcome.error
    return f"HTTP {outcome.status_code}"


def _gave_up(attempts: int, outcome: Outcome) -> str:
    return f"Gave up after {attempts} attempt(s); the last: {_describe(outcome)}"[:500]


def _delivery(row: Any, attempts: tuple[Attempt, ...]) -> Delivery:
    return Delivery(
        id=row["id"],
        endpoint_id=row["endpoint_id"],
        event_type=row["event_type"],
        job_id=row["job_id"],
        state=row["state"],
        attempt_count=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        delivered_at=row["delivered_at"],
        attempts=attempts,
    )
