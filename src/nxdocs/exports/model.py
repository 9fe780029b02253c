"""The export request a client sends, and the export object the API returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from nxdocs.clock import format_timestamp
from nxdocs.ids import id_pattern
from nxdocs.pages.model import MAX_PAGES

PROCESSING, COMPLETED, FAILED = "processing", "completed", "failed"
ExportFormatName = Literal["pdf", "pptx", "png", "html", "google-slides"]
GOOGLE_SLIDES = "google-slides"


class ExportCreate(BaseModel):
    """`POST /v1/exports[/async]`."""

    model_config = ConfigDict(extra="ignore")

    artifact_id: Annotated[StrictStr, Field(pattern=id_pattern("doc"))]
    format: ExportFormatName
    pages: Annotated[
        list[Annotated[StrictInt, Field(ge=1, le=MAX_PAGES)]] | None,
        Field(min_length=1, max_length=MAX_PAGES),
    ] = None

    @field_validator("pages")
    @classmethod
    def _no_duplicates(cls, pages: list[int] | None) -> list[int] | None:
        if pages is not None and len(set(pages)) != len(pages):
            raise ValueError("pages must not repeat a page")
        return pages


@dataclass(frozen=True)
class DownloadInfo:
    """What the API shows of the file: filled in per request (fresh signed link)."""

    url: str | None
    expires_at: int | None
    content: str | None


@dataclass(frozen=True)
class Export:
    id: str
    owner_id: str
    artifact_id: str
    job_id: str
    format: str
    status: str
    pages: list[int] | None
    pages_exported: int | None
    content_type: str | None
    file_name: str | None
    file_key: str | None
    error_code: str | None
    error_message: str | None
    created_at: int
    updated_at: int
    completed_at: int | None

    def to_api(self, download: DownloadInfo) -> dict[str, Any]:
        """Every hosted field, nullable ones as null; `job_id` is nxdocs's addition."""
        error = None
        if self.error_code is not None:
            error = {"code": self.error_code, "message": self.error_message or ""}
        body: dict[str, Any] = {
            "id": self.id,
            "object": "export",
            "artifact_id": self.artifact_id,
            "format": self.format,
            "status": self.status,
            "content": download.content,
            "content_type": self.content_type,
            "download_url": download.url,
            "expires_at": None
            if download.expires_at is None
            else format_timestamp(download.expires_at),
            "file_name": self.file_name,
            "pages_exported": self.pages_exported,
            "error": error,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
            "job_id": self.job_id,
        }
        if self.format == GOOGLE_SLIDES:
            body["google_slides_presentation_id"] = None
        return body
