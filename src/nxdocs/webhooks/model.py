"""Endpoints, deliveries and attempts as the stores return them and the API shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nxdocs.clock import format_timestamp

JOB_COMPLETED = "job.completed"
JOB_FAILED = "job.failed"
EVENT_TYPES = (JOB_COMPLETED, JOB_FAILED)

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True)
class Endpoint:
    id: str
    owner_id: str
    url: str
    description: str | None
    events: tuple[str, ...]
    disabled_at: int | None
    disabled_reason: str | None
    created_at: int
    updated_at: int

    def to_api(self, secret: str | None = None) -> dict[str, Any]:
        """The endpoint object; `secret` only in the answers that create it (create, rotate)."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "webhook_endpoint",
            "url": self.url,
            "description": self.description,
            "events": list(self.events),
            "status": "disabled" if self.disabled_at is not None else "enabled",
            "disabled_reason": self.disabled_reason,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
        }
        if secret is not None:
            body["secret"] = secret
        return body


@dataclass(frozen=True)
class Attempt:
    number: int
    started_at: int
    duration_ms: int
    status_code: int | None
    error: str | None
    response: str | None

    def to_api(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "started_at": format_timestamp(self.started_at),
            "duration_ms": self.duration_ms,
            "status_code": self.status_code,
            "error": self.error,
            "response": self.response,
        }


@dataclass(frozen=True)
class Delivery:
    id: str
    endpoint_id: str
    event_type: str
    job_id: str
    state: str
    attempt_count: int
    next_attempt_at: int | None
    """On the database's clock, which is the epoch in ms like every other time."""
    last_status_code: int | None
    last_error: str | None
    created_at: int
    updated_at: int
    delivered_at: int | None
    attempts: tuple[Attempt, ...]

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "webhook_delivery",
            "endpoint_id": self.endpoint_id,
            "event_type": self.event_type,
            "job_id": self.job_id,
            "status": self.state,
            "attempt_count": self.attempt_count,
            "next_attempt_at": (
                None
                if self.next_attempt_at is None or self.state != PENDING
                else format_timestamp(self.next_attempt_at)
            ),
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
            "delivered_at": (
                None if self.delivered_at is None else format_timestamp(self.delivered_at)
            ),
            "attempts": [attempt.to_api() for attempt in self.attempts],
        }
