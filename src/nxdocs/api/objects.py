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


class ArtifactObject(BaseModel):
    """The hosted fields first; `error`, `job_id` and `generation` are nxdocs's additions."""

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


# --- health -------------------------------------------------------------------------------------


class Health(BaseModel):
    ok: Literal[True]
    service: Literal["nxdocs"]
    timestamp: int = Field(description="Milliseconds since the epoch.")
