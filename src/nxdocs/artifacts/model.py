"""The artifact request a client sends, and the artifact object the API returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from nxdocs.clock import format_timestamp
from nxdocs.ids import id_pattern
from nxdocs.pages import DocumentType
from nxdocs.render.themes import BUILTIN_THEMES, DEFAULT_THEME_ID

GENERATING, READY, FAILED = "generating", "ready", "failed"
MAX_PAGE_COUNT = 50
MAX_VARIATIONS = 4


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
    org_id: Annotated[
        StrictStr | None,
        Field(
            pattern=id_pattern("org"),
            description="Create it in this organization (the caller must belong to it).",
        ),
    ] = None
    variations: Annotated[
        StrictInt,
        Field(
            ge=1,
            le=MAX_VARIATIONS,
            description="How many complete variants to make, 1-4, all by the one job: the "
            "artifact answered, plus `variations - 1` more listed in its `variations`.",
        ),
    ] = 1


def variation_themes(theme_id: str | None, count: int) -> list[str | None]:
    """The theme of each of `count` variations: the first keeps `theme_id` (the
    request's or its brand's; None is the default theme), each other takes a
    built-in theme that none before it has, in the order of `BUILTIN_THEMES`."""
    first = theme_id or DEFAULT_THEME_ID
    others = [other for other in BUILTIN_THEMES if other != first]
    return [theme_id] + [others[n % len(others)] for n in range(count - 1)]


@dataclass(frozen=True)
class VariationSummary:
    """One of an artifact's variations, as its `variations` list shows it."""

    id: str
    variation: int
    status: str
    theme_id: str | None
    page_count: int | None

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "variation": self.variation,
            "status": self.status,
            "theme_id": self.theme_id,
            "page_count": self.page_count,
        }


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
    # Set on a variation: the artifact asked for, and this one's number (2-4).
    # The artifact asked for has number 1 when it has variations, else None.
    variation_of: str | None = None
    variation: int | None = None
    # On the artifact asked for: its variations (2, 3, ...), as they are now.
    variations: tuple[VariationSummary, ...] = ()

    def to_api(self) -> dict[str, Any]:
        """The hosted fields first; `error`, `job_id`, `generation`, `variation` and
        `variation_of` are nxdocs's additions (the hosted object lists `variations`)."""
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
            "variations": [variation.to_api() for variation in self.variations],
            "variation_of": self.variation_of,
            "variation": self.variation,
        }
