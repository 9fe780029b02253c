"""A create request turned into a new artifact: the rules the body's schema cannot check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from nxdocs.artifacts.model import ArtifactCreate
from nxdocs.artifacts.store import NewArtifact
from nxdocs.generate.naming import artifact_name
from nxdocs.render.themes import BUILTIN_THEMES


class FieldError(ValueError):
    """One field of a request breaks a rule; the API answers 400 naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class BrandStyle(Protocol):
    """What an artifact takes from its brand."""

    @property
    def theme_id(self) -> str | None: ...

    @property
    def ai_instruction(self) -> str | None: ...


def new_artifact(
    owner_id: str,
    body: ArtifactCreate,
    *,
    max_content_bytes: int,
    find_brand: Callable[[str], BrandStyle | None],
) -> NewArtifact:
    """The artifact `body` asks for, its theme and instruction taken from its brand.

    `find_brand` looks a brand id up among the owner's brands.
    """
    if not (body.prompt or "").strip() and not (body.content or "").strip():
        raise FieldError("prompt", "Give a prompt or content (Markdown), or both.")
    if body.content is not None and len(body.content.encode()) > max_content_bytes:
        raise FieldError("content", f"Content is over {max_content_bytes} bytes.")
    if body.theme_id is not None and body.theme_id not in BUILTIN_THEMES:
        raise FieldError("theme_id", "No theme with this id; see GET /v1/themes.")
    brand = None
    if body.brand_id is not None:
        brand = find_brand(body.brand_id)
        if brand is None:
            raise FieldError("brand_id", "No brand with this id; see GET /v1/brands.")
    return NewArtifact(
        owner_id=owner_id,
        # Provisional until the generator names it from the pages it made.
        name=artifact_name(body.name, body.prompt, []),
        type=body.type,
        prompt=body.prompt,
        content=body.content,
        page_count=body.page_count,
        brand_id=body.brand_id,
        theme_id=body.theme_id or (brand.theme_id if brand else None),
        ai_instruction=brand.ai_instruction if brand else None,
        named_by_client=body.name is not None,
        variations=body.variations,
    )
