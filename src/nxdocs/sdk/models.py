"""The API's objects as typed, read-only models.

They mirror the JSON the server sends. Fields a newer server adds are kept
(`extra="allow"`, reachable as attributes and in `model_dump()`), so an older
SDK never breaks on them; nxdocs's additions to the hosted objects default to
None, so the models read a hosted API's answers too. Timestamps are aware
`datetime`s, written back as the API writes them (`2026-01-15T10:30:00.000Z`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


def format_timestamp(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, when_used="json")]

JobStatus = Literal["processing", "completed", "failed"]
JobType = Literal["artifact.create", "export.run"]


class ApiObject(BaseModel):
    """Base of every model: frozen, and tolerant of fields it does not know."""

    model_config = ConfigDict(extra="allow", frozen=True)


class WorkError(ApiObject):
    """A failure of the work itself, carried as data (`job.error`, `artifact.error`)."""

    code: str
    message: str


class Progress(ApiObject):
    """Steps done of the total (pages rendered, for an export)."""

    done: int
    total: int


class Job(ApiObject):
    """A background job (`GET /v1/jobs/{id}`)."""

    id: str
    object: Literal["job"] = "job"
    type: JobType
    status: JobStatus
    result: dict[str, Any] | None = None
    error: WorkError | None = None
    created_at: Timestamp
    updated_at: Timestamp
    progress: Progress | None = None

    @property
    def finished(self) -> bool:
        return self.status != "processing"

    @property
    def artifact_id(self) -> str | None:
        """A completed `artifact.create` job's artifact."""
        return None if self.result is None else self.result.get("artifact_id")

    @property
    def export_id(self) -> str | None:
        """A completed `export.run` job's export."""
        return None if self.result is None else self.result.get("export_id")


class ArtifactVariation(ApiObject):
    id: str
    variation: int
    status: str
    theme_id: str | None = None
    page_count: int | None = None


class Artifact(ApiObject):
    """A generated document or presentation (`doc_...`)."""

    id: str
    object: Literal["artifact"] = "artifact"
    name: str
    type: str
    status: Literal["generating", "ready", "failed"]
    page_count: int | None = None
    brand_id: str | None = None
    theme_id: str | None = None
    created_at: Timestamp
    updated_at: Timestamp
    error: WorkError | None = None
    job_id: str | None = None
    generation: dict[str, str] | None = None
    variations: list[ArtifactVariation] = Field(default_factory=list)
    variation_of: str | None = None
    variation: int | None = None


class Export(ApiObject):
    """An artifact exported to a file (`exp_...`); `download_url` works without the key."""

    id: str
    object: Literal["export"] = "export"
    artifact_id: str
    format: str
    status: JobStatus
    content: str | None = None
    content_type: str | None = None
    download_url: str | None = None
    expires_at: Timestamp | None = None
    file_name: str | None = None
    pages_exported: int | None = None
    error: WorkError | None = None
    created_at: Timestamp
    updated_at: Timestamp
    job_id: str | None = None
    google_slides_presentation_id: str | None = None


class Deleted(ApiObject):
    """The answer of a delete."""

    id: str
    object: str
    deleted: bool


class WebhookEndpoint(ApiObject):
    """Where job.completed and job.failed events are sent (`we_...`).

    `secret` (`whsec_...`) is set only on the answers of create and
    rotate_secret; it is left out of the repr.
    """

    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    description: str | None = None
    events: list[str]
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None = None
    created_at: Timestamp
    updated_at: Timestamp
    secret: str | None = Field(default=None, repr=False)


class WebhookAttempt(ApiObject):
    number: int
    started_at: Timestamp
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    response: str | None = None


class WebhookDelivery(ApiObject):
    """One event sent to an endpoint (`msg_...`), with its attempts."""

    id: str
    object: Literal["webhook_delivery"] = "webhook_delivery"
    endpoint_id: str
    event_type: str
    job_id: str
    status: Literal["pending", "delivered", "failed"]
    attempt_count: int
    next_attempt_at: Timestamp | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: Timestamp
    updated_at: Timestamp
    delivered_at: Timestamp | None = None
    attempts: list[WebhookAttempt] = Field(default_factory=list)


class WebhookEvent(ApiObject):
    """A verified webhook request's body: `job.completed` or `job.failed`, with the job."""

    type: str
    timestamp: Timestamp
    data: Job
