"""The API's response bodies as Pydantic models, for the OpenAPI document.

Routes build their bodies as plain dicts (`Artifact.to_api`, `Export.to_api`,
...) and send them with `OrjsonResponse`; these models only describe those
bodies, through each route's `responses=`, so documenting them costs a request
nothing. `tests/api/test_schemathesis.py` holds the two to each other: every
response it provokes is validated against the schema these models produce.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from nxdocs.exports.model import ExportFormatName
from nxdocs.ids import id_pattern
from nxdocs.pages import DocumentType
from nxdocs.render.themes import Theme

Timestamp = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
        description="UTC with milliseconds, e.g. `2026-01-15T10:30:00.000Z`.",
    ),
]
ErrorCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]


JobId = Annotated[str, Field(pattern=id_pattern("job"))]
ArtifactId = Annotated[str, Field(pattern=id_pattern("doc"))]
ExportId = Annotated[str, Field(pattern=id_pattern("exp"))]
BrandId = Annotated[str, Field(pattern=id_pattern("brand"))]


# --- errors -------------------------------------------------------------------------------------


JobType = Literal["artifact.create", "export.run"]
"""The contract's job types (`nxdocs.jobs.model.JOB_TYPES`)."""


class FieldProblem(BaseModel):
    field: str = Field(description="The field as the client wrote it, e.g. `pages[0]`.")
    message: str


class ErrorObject(BaseModel):
    code: ErrorCode
    message: Annotated[str, Field(min_length=1)]
    details: list[FieldProblem] | None = Field(
        default=None, description="Only on VALIDATION_ERROR and NOT_READY: what failed."
    )


class ErrorBody(BaseModel):
    """Every non-2xx response: `{"error": {"code", "message", "details"?}}`."""

    error: ErrorObject


class WorkError(BaseModel):
    """A failure of the work itself, carried as data in a 2xx body."""

    code: ErrorCode
    message: str


# --- jobs (the contract page) -------------------------------------------------------------------


class Progress(BaseModel):
    done: int
    total: int


class _Job(BaseModel):
    id: JobId
    object: Literal["job"]
    type: JobType
    created_at: Timestamp
    updated_at: Timestamp
    progress: Progress | None = Field(
        default=None, description="nxdocs's addition: steps done of the total, or null."
    )


class ProcessingJob(_Job):
    status: Literal["processing"]
    result: None
    error: None


class CompletedJob(_Job):
    status: Literal["completed"]
    result: dict[str, Any] = Field(
        description='`{"artifact_id": "doc_..."}` or `{"export_id": "exp_..."}`.'
    )
    error: None


class FailedJob(_Job):
    status: Literal["failed"]
    result: None
    error: WorkError


JobObject = Annotated[ProcessingJob | CompletedJob | FailedJob, Field(discriminator="status")]


class JobList(BaseModel):
    object: Literal["list"]
    data: list[JobObject]
    has_more: bool


"""The job object of the contract page, plus nxdocs's additive `progress`."""


# --- artifacts ----------------------------------------------------------------------------------


class ArtifactVariation(BaseModel):
    """One of the variations an artifact lists: itself an artifact (get it by `id`)."""

    id: ArtifactId
    variation: Annotated[int, Field(ge=2, description="Its number; 1 is the artifact asked for.")]
    status: Literal["generating", "ready", "failed"]
    theme_id: str | None
    page_count: int | None


class ArtifactObject(BaseModel):
    """The hosted fields first; `error`, `job_id`, `generation`, `variation_of` and
    `variation` are nxdocs's additions."""

    id: ArtifactId
    object: Literal["artifact"]
    name: str
    type: DocumentType
    status: Literal["generating", "ready", "failed"]
    page_count: int | None
    brand_id: str | None
    theme_id: str | None
    created_at: Timestamp
    updated_at: Timestamp
    error: WorkError | None
    job_id: JobId
    generation: dict[str, str] | None
    variations: list[ArtifactVariation] = Field(
        description="On the artifact a create asked for: the other variations it asked for "
        "(`variations` 2-4), made by the same job; empty otherwise."
    )
    variation_of: ArtifactId | None = Field(
        description="On a variation: the artifact it is a variation of; else null."
    )
    variation: int | None = Field(
        description="This artifact's number among its variations (1 for the one asked for); "
        "null when the create asked for no variations."
    )


class ArtifactList(BaseModel):
    object: Literal["list"]
    data: list[ArtifactObject]
    has_more: bool


class ArtifactDeleted(BaseModel):
    id: ArtifactId
    object: Literal["artifact"]
    deleted: Literal[True]


# --- exports ------------------------------------------------------------------------------------


class ExportObject(BaseModel):
    """Every hosted field, nullable ones as null; `job_id` is nxdocs's addition."""

    id: ExportId
    object: Literal["export"]
    artifact_id: ArtifactId
    format: ExportFormatName
    status: Literal["processing", "completed", "failed"]
    content: str | None = Field(description="The HTML itself, for completed html exports.")
    content_type: str | None
    download_url: str | None = Field(description="Signed; works without the key until expires_at.")
    expires_at: Timestamp | None
    file_name: str | None
    pages_exported: int | None
    error: WorkError | None
    created_at: Timestamp
    updated_at: Timestamp
    job_id: JobId
    google_slides_presentation_id: str | None = Field(
        default=None, description="Present on google-slides exports only."
    )


class LegacyExport(BaseModel):
    """`POST /v0/export/{job_id}` (legacy): the completed export's file."""

    download_url: str = Field(description="Signed; works without the key until expires_at.")
    format: ExportFormatName
    expires_at: Timestamp


class LegacyExportPending(BaseModel):
    """`POST /v0/export/{job_id}` (legacy) when the export outlasts the wait."""

    job_id: JobId = Field(description="The export's `export.run` job.")
    export_id: ExportId
    format: ExportFormatName
    status: Literal["processing"]


# --- styling and account ------------------------------------------------------------------------


class ThemeObject(Theme):
    object: Literal["theme"]


class ThemeList(BaseModel):
    object: Literal["list"]
    data: list[ThemeObject]
    has_more: bool


class BrandObject(BaseModel):
    id: BrandId
    object: Literal["brand"]
    name: str
    ai_instruction: str | None
    theme_id: str | None
    theme: ThemeObject | None
    created_at: Timestamp
    updated_at: Timestamp


class BrandList(BaseModel):
    object: Literal["list"]
    data: list[BrandObject]
    has_more: bool


class Quota(BaseModel):
    monthly_free_cents_limit: int
    monthly_free_cents_used: int
    bonus_credits: int
    document_export_limit: int
    document_export_used: int
    reset_date: Timestamp


class UserObject(BaseModel):
    id: Annotated[str, Field(pattern=id_pattern("user"))]
    object: Literal["user"]
    email: str | None
    first_name: str | None
    last_name: str | None
    image_url: str | None
    quota: Quota
    created_at: Timestamp
    updated_at: Timestamp


class OrganizationObject(BaseModel):
    id: Annotated[str, Field(pattern=id_pattern("org"))]
    object: Literal["organization"]
    name: str
    slug: str
    role: Literal["OWNER", "ADMIN", "MEMBER"] = Field(description="The caller's role in it.")
    quota: Quota = Field(description="The organization's own quota: its exports count here.")
    created_at: Timestamp
    updated_at: Timestamp


class OrganizationList(BaseModel):
    object: Literal["list"]
    data: list[OrganizationObject]
    has_more: bool


# --- assets -------------------------------------------------------------------------------------


AssetId = Annotated[str, Field(pattern=id_pattern("asset"))]


class AssetObject(BaseModel):
    """An uploaded image (`nxdocs.assets`). Use it in Markdown as `![alt](asset_...)`."""

    id: AssetId
    object: Literal["asset"]
    type: Literal["icon", "illustration", "photo", "video"]
    name: str
    content_type: Literal["image/png", "image/jpeg"] = Field(
        description="What nxdocs stored: every upload is re-encoded as PNG or JPEG."
    )
    width: int = Field(description="Pixels.")
    height: int = Field(description="Pixels.")
    size: int = Field(description="Bytes of the stored image.")
    brand_id: BrandId | None
    url: str = Field(
        description="The image, signed: works without the key for `--download-url-seconds`; "
        "each read of the asset signs a fresh one."
    )
    created_at: Timestamp
    updated_at: Timestamp


class AssetList(BaseModel):
    object: Literal["list"]
    data: list[AssetObject]
    has_more: bool


class AssetDeleted(BaseModel):
    id: AssetId
    object: Literal["asset"]
    deleted: Literal[True]


# --- health -------------------------------------------------------------------------------------


class Health(BaseModel):
    ok: Literal[True]
    service: Literal["nxdocs"]
    timestamp: int = Field(description="Milliseconds since the epoch.")


# --- embed --------------------------------------------------------------------------------------


class EmbedObject(BaseModel):
    """A signed, read-only viewer link to a ready artifact; `expires_at` is nxdocs's addition."""

    document_id: ArtifactId
    embed_url: str = Field(
        description="The viewer page (`/v1/embed/view/<token>`): works without the key "
        "until expires_at, or until the artifact is deleted."
    )
    iframe_html: str = Field(description="An `<iframe>` of embed_url, ready to paste.")
    title: str = Field(description="The artifact's name.")
    total_pages: Annotated[int, Field(ge=1)]
    expires_at: Timestamp


# --- webhooks -----------------------------------------------------------------------------------


WebhookEndpointId = Annotated[str, Field(pattern=id_pattern("we"))]
WebhookEvent = Literal["job.completed", "job.failed"]
"""The events an endpoint can ask for (`nxdocs.webhooks.model.EVENT_TYPES`)."""


class WebhookEndpointObject(BaseModel):
    id: WebhookEndpointId
    object: Literal["webhook_endpoint"]
    url: str
    description: str | None
    events: list[WebhookEvent]
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None = Field(description="Why it was disabled; null while enabled.")
    created_at: Timestamp
    updated_at: Timestamp


class WebhookEndpointWithSecret(WebhookEndpointObject):
    secret: str = Field(
        pattern=r"^whsec_[A-Za-z0-9+/=]+$",
        description="The signing secret, shown in this answer only: keep it.",
    )


class WebhookEndpointList(BaseModel):
    object: Literal["list"]
    data: list[WebhookEndpointObject]
    has_more: bool


class WebhookEndpointDeleted(BaseModel):
    id: WebhookEndpointId
    object: Literal["webhook_endpoint"]
    deleted: Literal[True]


class WebhookAttempt(BaseModel):
    number: int
    started_at: Timestamp
    duration_ms: int
    status_code: int | None = Field(description="The receiver's status; null if none came.")
    error: str | None = Field(description="Why the attempt failed; null when it succeeded.")
    response: str | None = Field(description="The start of the receiver's answer.")


class WebhookDeliveryObject(BaseModel):
    id: Annotated[str, Field(pattern=id_pattern("msg"))] = Field(
        description="The event's id: the `webhook-id` header of every attempt."
    )
    object: Literal["webhook_delivery"]
    endpoint_id: WebhookEndpointId
    event_type: WebhookEvent
    job_id: JobId
    status: Literal["pending", "delivered", "failed"]
    attempt_count: int
    next_attempt_at: Timestamp | None
    last_status_code: int | None
    last_error: str | None
    created_at: Timestamp
    updated_at: Timestamp
    delivered_at: Timestamp | None
    attempts: list[WebhookAttempt] = Field(description="The latest attempts, oldest first.")


class WebhookDeliveryList(BaseModel):
    object: Literal["list"]
    data: list[WebhookDeliveryObject]
    has_more: bool
