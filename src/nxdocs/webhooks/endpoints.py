"""Webhook endpoints: an owner's URLs, the events each wants, and their signing secrets."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence, Set
from typing import Any

import orjson
import sqlalchemy as sa

from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.pagination import newest_first
from nxdocs.db.schema import owners, webhook_deliveries, webhook_endpoints
from nxdocs.ids import new_id
from nxdocs.webhooks.model import EVENT_TYPES, FAILED, PENDING, Endpoint

SECRET_PREFIX = "whsec_"  # noqa: S105 (the spec's prefix, not a secret)
REASON_LENGTH = 500  # the columns' size


class TooManyEndpointsError(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"an owner may have {limit} webhook endpoints")
        self.limit = limit


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def events_text(events: Sequence[str]) -> str:
    """The stored form: a JSON array in the order of `EVENT_TYPES`, without repeats."""
    return orjson.dumps([event for event in EVENT_TYPES if event in events]).decode()


def endpoint_of(row: Any) -> Endpoint:
    return Endpoint(
        id=row["id"],
        owner_id=row["owner_id"],
        url=row["url"],
        description=row["description"],
        events=tuple(orjson.loads(row["events"])),
        disabled_at=row["disabled_at"],
        disabled_reason=row["disabled_reason"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def disable(connection: sa.Connection, endpoint_id: str, reason: str, now: int) -> None:
    """Disable the endpoint and fail its pending deliveries, in the caller's transaction."""
    reason = reason[:REASON_LENGTH]
    connection.execute(
        webhook_endpoints.update()
        .where(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.disabled_at.is_(None))
        .values(disabled_at=now, disabled_reason=reason, updated_at=now)
    )
    connection.execute(
        webhook_deliveries.update()
        .where(
            webhook_deliveries.c.endpoint_id == endpoint_id,
            webhook_deliveries.c.state == PENDING,
        )
        .values(state=FAILED, last_error=disabled_error(reason), updated_at=now)
    )


def disabled_error(reason: str | None) -> str:
    """The `last_error` of a delivery failed because its endpoint was disabled."""
    return f"The endpoint was disabled: {reason}"[:REASON_LENGTH]


class EndpointStore:
    def __init__(self, engine: sa.Engine, clock: Clock, *, max_per_owner: int) -> None:
        self.engine = engine
        self.reads = read_only(engine)
        self.clock = clock
        self.max_per_owner = max_per_owner

    def create(
        self, owner_id: str, url: str, events: Sequence[str], description: str | None
    ) -> tuple[Endpoint, str]:
        """The new endpoint and its secret, which is shown this once."""
        now = self.clock.now_ms()
        secret = new_secret()
        endpoint_id = new_id("we", now)
        with self.engine.begin() as connection:
            # The owner's row is locked first, so concurrent creates count in turn.
            connection.execute(
                sa.select(owners.c.id)
                .where(owners.c.id == owner_id)
                .with_for_update(key_share=True)
            ).first()
            count = connection.execute(
                sa.select(sa.func.count())
                .select_from(webhook_endpoints)
                .where(webhook_endpoints.c.owner_id == owner_id)
            ).scalar_one()
            if count >= self.max_per_owner:
                raise TooManyEndpointsError(self.max_per_owner)
            connection.execute(
                webhook_endpoints.insert().values(
                    id=endpoint_id,
                    owner_id=owner_id,
                    url=url,
                    description=description,
                    events=events_text(events),
                    secret=secret,
                    consecutive_failures=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            row = self._row(connection, endpoint_id)
        return endpoint_of(row), secret

    def page(
        self, owner_id: str, *, limit: int, after: str | None
    ) -> tuple[Sequence[Endpoint], bool]:
        with self.reads.connect() as connection:
            rows, has_more = newest_first(
                connection, webhook_endpoints, owner_id, limit=limit, after=after
            )
        return [endpoint_of(row._mapping) for row in rows], has_more

    def get(self, visible: Set[str], endpoint_id: str) -> Endpoint | None:
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(webhook_endpoints).where(*_mine(visible, endpoint_id))
            ).one_or_none()
        return None if row is None else endpoint_of(row._mapping)

    def update(
        self,
        visible: Set[str],
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        fields: Set[str] = frozenset(),
    ) -> Endpoint | None:
        """Change the `fields` given (`description` may be set to None); enabling
        clears the failure count and the reason it was disabled."""
        now = self.clock.now_ms()
        values: dict[str, Any] = {"updated_at": now}
        if url is not None:
            values["url"] = url
        if events is not None:
            values["events"] = events_text(events)
        if "description" in fields:
            values["description"] = description
        with self.engine.begin() as connection:
            if self._row(connection, endpoint_id, visible) is None:
                return None
            connection.execute(
                webhook_endpoints.update().where(*_mine(visible, endpoint_id)).values(**values)
            )
            if enabled is True:
                connection.execute(
                    webhook_endpoints.update()
                    .where(*_mine(visible, endpoint_id))
                    .values(disabled_at=None, disabled_reason=None, consecutive_failures=0)
                )
            elif enabled is False:
                disable(connection, endpoint_id, "disabled by its owner", now)
            row = self._row(connection, endpoint_id)
        return endpoint_of(row)

    def rotate_secret(
        self, visible: Set[str], endpoint_id: str, overlap_seconds: int
    ) -> tuple[Endpoint, str] | None:
        """A new secret; the current one goes on signing beside it for `overlap_seconds`."""
        now = self.clock.now_ms()
        secret = new_secret()
        with self.engine.begin() as connection:
            updated = connection.execute(
                webhook_endpoints.update()
                .where(*_mine(visible, endpoint_id))
                .values(
                    previous_secret=webhook_endpoints.c.secret,
                    previous_secret_expires_at=now + overlap_seconds * 1000,
                    secret=secret,
                    updated_at=now,
                )
            )
            if updated.rowcount != 1:
                return None
            row = self._row(connection, endpoint_id)
        return endpoint_of(row), secret

    def delete(self, visible: Set[str], endpoint_id: str) -> bool:
        """Delete the endpoint with its deliveries and their attempts (foreign keys cascade)."""
        with self.engine.begin() as connection:
            deleted = connection.execute(
                webhook_endpoints.delete().where(*_mine(visible, endpoint_id))
            )
        return deleted.rowcount == 1

    @staticmethod
    def _row(connection: sa.Connection, endpoint_id: str, visible: Set[str] | None = None) -> Any:
        query = sa.select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        if visible is not None:
            query = query.where(webhook_endpoints.c.owner_id.in_(visible))
        row = connection.execute(query.with_for_update()).one_or_none()
        return None if row is None else row._mapping


def _mine(visible: Set[str], endpoint_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.owner_id.in_(visible))
