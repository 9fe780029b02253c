"""An artifact is a list of pages of typed blocks.

This is validated data: generators (Markdown, the built-in outline, a language
model) produce a `Document`, it is stored with the artifact as JSON, and every
renderer (HTML, PDF, PNG, PPTX) reads the same `Document`. Size bounds live
here so that no generator can hand a renderer something unbounded.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nxdocs.ids import is_id

DocumentType = Literal["presentation", "document"]

MAX_PAGES = 200
MAX_TEXT = 20_000
MAX_LIST_DEPTH = 6
_IMAGE_SCHEMES = ("http://", "https://", "data:image/")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Span(_Model):
    """A run of inline text with its formatting; `href` makes it a link."""

    text: Annotated[str, Field(max_length=MAX_TEXT)]
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: Annotated[str | None, Field(max_length=2048)] = None


Spans = Annotated[list[Span], Field(max_length=500)]


class TitleBlock(_Model):
    """The big title of a title slide or the top of a document."""

    type: Literal["title"] = "title"
    text: Annotated[str, Field(max_length=500)]
    subtitle: Annotated[str | None, Field(max_length=1000)] = None


class HeadingBlock(_Model):
    type: Literal["heading"] = "heading"
    level: Annotated[int, Field(ge=1, le=4)] = 1
    text: Annotated[str, Field(max_length=500)]


class ParagraphBlock(_Model):
    type: Literal["paragraph"] = "paragraph"
    spans: Spans


class ListItem(_Model):
    """One list entry; `items` nests a sub-list of the same kind."""

    spans: Spans
    items: Annotated[list[ListItem], Field(max_length=200)] = []


def _depth(items: list[ListItem]) -> int:
    return 1 + max((_depth(item.items) for item in items if item.items), default=0)


class ListBlock(_Model):
    type: Literal["list"] = "list"
    ordered: bool = False
    items: Annotated[list[ListItem], Field(min_length=1, max_length=200)]

    @field_validator("items")
    @classmethod
    def _bounded_nesting(cls, items: list[ListItem]) -> list[ListItem]:
        if _depth(items) > MAX_LIST_DEPTH:
            raise ValueError(f"lists nest at most {MAX_LIST_DEPTH} levels deep")
        return items


class TableBlock(_Model):
    """A table; `header` is the first row drawn as column titles."""

    type: Literal["table"] = "table"
    header: Annotated[list[Annotated[str, Field(max_length=1000)]], Field(max_length=20)] = []
    rows: Annotated[
        list[Annotated[list[Annotated[str, Field(max_length=1000)]], Field(max_length=20)]],
        Field(max_length=200),
    ]


class ImageBlock(_Model):
    """A picture by http(s) URL, `data:image/...` URI, or the id of one of the
    owner's assets (`asset_...`, uploaded with `POST /v1/assets`)."""

    type: Literal["image"] = "image"
    src: Annotated[str, Field(max_length=5_000_000)]
    alt: Annotated[str, Field(max_length=1000)] = ""
    caption: Annotated[str | None, Field(max_length=1000)] = None

    @field_validator("src")
    @classmethod
    def _known_scheme(cls, src: str) -> str:
        if not src.startswith(_IMAGE_SCHEMES) and not is_id(src, "asset"):
            raise ValueError("image src must be an http(s) URL, a data:image/ URI or an asset id")
        return src


class QuoteBlock(_Model):
    type: Literal["quote"] = "quote"
    spans: Spans
    attribution: Annotated[str | None, Field(max_length=500)] = None


class CodeBlock(_Model):
    type: Literal["code"] = "code"
    code: Annotated[str, Field(max_length=MAX_TEXT)]
    language: Annotated[str | None, Field(max_length=50)] = None


Block = Annotated[
    TitleBlock
    | HeadingBlock
    | ParagraphBlock
    | ListBlock
    | TableBlock
    | ImageBlock
    | QuoteBlock
    | CodeBlock,
    Field(discriminator="type"),
]


class Page(_Model):
    """A slide of a presentation or a page of a document.

    `notes` are the speaker notes: shown in the PPTX notes pane, never drawn
    on the page itself.
    """

    blocks: Annotated[list[Block], Field(max_length=100)] = []
    notes: Annotated[str | None, Field(max_length=MAX_TEXT)] = None


class Document(_Model):
    """What an artifact holds: its kind, a title and its pages in order."""

    type: DocumentType
    title: Annotated[str, Field(max_length=500)]
    pages: Annotated[list[Page], Field(min_length=1, max_length=MAX_PAGES)]

    def select(self, page_numbers: list[int]) -> Document:
        """The document with only the given 1-indexed pages, in that order."""
        return self.model_copy(update={"pages": [self.pages[n - 1] for n in page_numbers]})
