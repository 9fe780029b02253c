"""The HTML renderer: one self-contained file, and the input of the PDF renderer.

Everything the page needs is inside the file: the theme CSS inline and every
image as a `data:` URI, so the file opens anywhere and WeasyPrint never has
to fetch. Templates autoescape all content; text is also stripped of the
characters no output can carry (see `text.clean_text`).

Presentations are 16:9 slides of fixed size whose font shrinks when the
content would not fit (`measure.fit_scale`); documents flow on A4 or Letter
pages, each `Page` starting a new sheet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import jinja2

from nxdocs.pages.model import Block, Document, Page, TitleBlock
from nxdocs.render import measure
from nxdocs.render.images import ImageLoader, load_images
from nxdocs.render.text import clean_text, safe_href
from nxdocs.render.themes import Theme

PageSize = Literal["A4", "Letter"]

_DOCUMENT_BODY_PT = 11.0


@dataclass(frozen=True)
class _Layout:
    """Sizes the theme CSS needs, as CSS values."""

    page_size: str
    page_margin: str
    body_pt: float
    image_height: str
    slide_width: str = ""
    slide_height: str = ""
    slide_pad_x: str = ""
    slide_pad_y: str = ""
    slide_bar: str = ""


@dataclass(frozen=True)
class _PageView:
    """What the template draws for one page."""

    blocks: list[Block]
    notes: str | None
    cover: bool
    font_pt: float | None


_SLIDE_LAYOUT = _Layout(
    page_size=f"{measure.SLIDE_WIDTH_MM}mm {measure.SLIDE_HEIGHT_MM}mm",
    page_margin="0",
    body_pt=measure.SLIDE_BODY_PT,
    image_height=f"{measure.IMAGE_EM}em",
    slide_width=f"{measure.SLIDE_WIDTH_MM}mm",
    slide_height=f"{measure.SLIDE_HEIGHT_MM}mm",
    slide_pad_x=f"{measure.SLIDE_PAD_X_MM}mm",
    slide_pad_y=f"{measure.SLIDE_PAD_Y_MM}mm",
    slide_bar=f"{measure.SLIDE_BAR_MM}mm",
)


def render_html(
    document: Document,
    theme: Theme,
    *,
    page_size: PageSize = "A4",
    image_loader: ImageLoader,
) -> str:
    """The document as one self-contained HTML file."""
    images = load_images(document, image_loader)
    presentation = document.type == "presentation"
    template = _environment().get_template("document.html.j2")
    return template.render(
        title=document.title,
        kind=document.type,
        theme=theme,
        m=measure,
        layout=_SLIDE_LAYOUT if presentation else _document_layout(page_size),
        pages=[_page_view(page, presentation) for page in document.pages],
        image_uris={src: image.data_uri() if image else None for src, image in images.items()},
    )


def _document_layout(page_size: PageSize) -> _Layout:
    return _Layout(
        page_size="A4" if page_size == "A4" else "letter",
        page_margin="20mm 20mm 22mm 20mm",
        body_pt=_DOCUMENT_BODY_PT,
        image_height="100mm",
    )


def _page_view(page: Page, presentation: bool) -> _PageView:
    cover = len(page.blocks) == 1 and isinstance(page.blocks[0], TitleBlock)
    font_pt = _slide_font_pt(page.blocks) if presentation else None
    return _PageView(blocks=page.blocks, notes=page.notes, cover=cover, font_pt=font_pt)


def _slide_font_pt(blocks: list[Block]) -> float | None:
    """A smaller body font for a crowded slide; None keeps the default."""
    width, height = measure.slide_content_size()
    scale = measure.fit_scale(blocks, width, height, measure.SLIDE_BODY_PT)
    return None if scale >= 1 else round(measure.SLIDE_BODY_PT * scale, 1)


def _finalize(value: object) -> object:
    # Markup (anything with __html__) is built from finalized parts already;
    # cleaning it would make it a plain str and get it escaped a second time.
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return clean_text(value)
    return value


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("nxdocs.render", "templates"),
        autoescape=True,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["safe_href"] = safe_href
    return environment
