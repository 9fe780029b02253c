"""The artifact request a client sends, and the artifact object the API returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from nxdocs.clock import format_timestamp
from nxdocs.ids import id_pattern
from nxdocs.pages import DocumentType

GENERATING, READY, FAILED = "generating", "ready", "failed"
MAX_PAGE_COUNT = 50


class ArtifactCreate(BaseModel):
    """`POST /v1/artifacts[/async]`: at least one of `prompt` and `content` (Markdown)."""

    model_config = ConfigDict(extra="ignore")

    prompt: Annotated[StrictStr | None, Field(max_length=20_000)] = None
    content: StrictStr | None = Field(default=None, description="Markdown; limit is a setting.")
    type: Literal["presentation", "document"] = "presentation"
    name: Annotated[StrictStr | None, Field(min_length=1, max_length=200)] = None
    page_count: Annotated[StrictInt | None, Field(ge=1, le=MAX_PAGE_COUNT)] = None
    theme_id: StrictStr | None = None
    brand_id: Annotated[StrictStr | None, Field(pattern=id_pattern("brand"))] = None


@dataclass(frozen=True)
class Artifact:
    """An artifact row as the API shows it."""

    id: str
    owner_id: str
    job_id: str
    name: str
    type: DocumentType
    status: str
    page_count: int | None
    brand_id: str | None
    theme_id: str | None
    error_code: str | None
    error_message: str | None
    generation: dict[str, str] | None
    created_at: int
    updated_at: int

    def to_api(self) -> dict[str, Any]:
        """The hosted fields first; `error`, `job_id` and `generation` are nxdocs's additions."""
        error = None
        if self.error_code is not None:
            error = {"code": self.error_code, "message": self.error_message or ""}
        return {
            "id": self.id,
            "object": "artifact",
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "page_count": self.page_count,
            "brand_id": self.brand_id,
            "theme_id": self.theme_id,
            "created_at": format_timestamp(self.created_at),
            "updated_at": format_timestamp(self.updated_at),
            "error": error,
            "job_id": self.job_id,
            "generation": self.generation,
        }
