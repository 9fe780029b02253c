"""`render`: one call from a document and a format to the exported file.

This is the renderers' only entry point for the export handler. It chains
HTML -> PDF -> PNG as needed, reports progress in pages, and turns a failure
inside a rendering engine into `RenderError("RENDER_FAILED")` with a message
safe for the client; the log gets where it was raised (no traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from nxdocs.logs import exception_summary
from nxdocs.pages.model import Document
from nxdocs.render.errors import RenderError
from nxdocs.render.html import PageSize, render_html
from nxdocs.render.images import ImageLoader
from nxdocs.render.pdf import render_pdf
from nxdocs.render.png import render_png_zip
from nxdocs.render.pptx import render_pptx
from nxdocs.render.themes import Theme

ExportFormat = Literal["html", "pdf", "png", "pptx"]
Progress = Callable[[int, int], None]

logger = logging.getLogger(__name__)

DEFAULT_DPI = 150


@dataclass(frozen=True)
class RenderedFile:
    """An exported file: its bytes, MIME type and file name extension (no dot)."""

    data: bytes
    content_type: str
    extension: str


def render(
    document: Document,
    theme: Theme,
    fmt: ExportFormat,
    *,
    page_size: PageSize = "A4",
    dpi: int = DEFAULT_DPI,
    image_loader: ImageLoader,
    progress: Progress | None = None,
) -> RenderedFile:
    """`document` exported as `fmt`.

    `progress(done, total)` counts pages as they complete where the engine
    allows it (PNG, PPTX) and is called once at the end in every format. An
    exception raised by `progress` is the caller's way to stop the render (a
    job that lost its lease): it propagates as it is, not as RENDER_FAILED.
    """
    stopped: list[Exception] = []

    def report(done: int, total: int) -> None:
        try:
            (progress or _ignore_progress)(done, total)
        except Exception as exc:
            stopped.append(exc)
            raise

    try:
        rendered = _render(
            document,
            theme,
            fmt,
            page_size=page_size,
            dpi=dpi,
            image_loader=image_loader,
            progress=report,
        )
    except RenderError:
        raise
    except Exception as exc:
        if stopped:
            raise stopped[0] from None
        logger.error("rendering a %s export failed: %s", fmt, exception_summary(exc))
        raise RenderError("RENDER_FAILED", f"The {fmt} export could not be rendered.") from exc
    return rendered


def _render(
    document: Document,
    theme: Theme,
    fmt: ExportFormat,
    *,
    page_size: PageSize,
    dpi: int,
    image_loader: ImageLoader,
    progress: Progress,
) -> RenderedFile:
    if fmt == "pptx":
        return RenderedFile(
            render_pptx(document, theme, image_loader, progress),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "pptx",
        )
    html = render_html(document, theme, page_size=page_size, image_loader=image_loader)
    pages = len(document.pages)
    if fmt == "html":
        progress(pages, pages)
        return RenderedFile(html.encode("utf-8"), "text/html; charset=utf-8", "html")
    pdf = render_pdf(html)
    if fmt == "pdf":
        progress(pages, pages)
        return RenderedFile(pdf, "application/pdf", "pdf")
    # A document page can fill several sheets: PNG progress counts sheets.
    return RenderedFile(render_png_zip(pdf, dpi, progress), "application/zip", "zip")


def _ignore_progress(done: int, total: int) -> None:
    """The progress callback when the caller wants none."""
