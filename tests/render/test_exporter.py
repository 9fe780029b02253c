"""`render`: every format through one call; selection; progress; failures."""

from __future__ import annotations

import io
import logging
import zipfile

import pypdf
import pytest
from PIL import Image
from pptx import Presentation

from nxdocs.pages.model import Document
from nxdocs.render import ExportFormat, RenderedFile, get_theme, render
from nxdocs.render.errors import RenderError
from nxdocs.render.themes import Theme

from . import samples
from .samples import PNG_DPI, fake_loader

SELECTED = ["Highlights", "Next Steps"]


def _render(document: Document, theme: Theme, fmt: ExportFormat) -> RenderedFile:
    return render(document, theme, fmt, dpi=PNG_DPI, image_loader=fake_loader)


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [
        ("html", "text/html; charset=utf-8", "html"),
        ("pdf", "application/pdf", "pdf"),
        ("png", "application/zip", "zip"),
        (
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "pptx",
        ),
    ],
)
def test_selected_pages_are_exported_in_every_format(
    presentation: Document, theme: Theme, fmt: ExportFormat, content_type: str, extension: str
) -> None:
    progress: list[tuple[int, int]] = []
    rendered = render(
        presentation.select([2, 4]),
        theme,
        fmt,
        dpi=PNG_DPI,
        image_loader=fake_loader,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert (rendered.content_type, rendered.extension) == (content_type, extension)
    assert _page_texts(fmt, rendered.data) == SELECTED
    assert progress[-1] == (2, 2)
    assert all(total == 2 for _, total in progress)


def _page_texts(fmt: ExportFormat, data: bytes) -> list[str]:
    """The selected titles found in each page of the output, read back independently."""
    if fmt == "html":
        text = data.decode("utf-8")
        pages = text.split('data-page="')[1:]
    elif fmt == "pdf":
        pages = [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]
    elif fmt == "png":
        return _titles_of_png_pages(data)
    else:
        deck = Presentation(io.BytesIO(data))
        pages = [slide.shapes.title.text_frame.text for slide in deck.slides]
    return [next(title for title in SELECTED if title in page) for page in pages]


def _titles_of_png_pages(archive: bytes) -> list[str]:
    """Match each PNG page against the full deck's slides 2 and 4, pixel for pixel."""
    full = render(
        samples.presentation(), get_theme(None), "png", dpi=PNG_DPI, image_loader=fake_loader
    )
    reference = _pngs(full.data)
    by_pixels = {reference[1].tobytes(): SELECTED[0], reference[3].tobytes(): SELECTED[1]}
    return [by_pixels.get(image.tobytes(), "unknown page") for image in _pngs(archive)]


def _pngs(archive: bytes) -> list[Image.Image]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        names = zipped.namelist()
        assert names == [f"page-{number:03d}.png" for number in range(1, len(names) + 1)]
        return [Image.open(io.BytesIO(zipped.read(name))).convert("RGB") for name in names]


def test_html_is_utf8(presentation: Document, theme: Theme) -> None:
    rendered = _render(presentation, theme, "html")
    assert rendered.data.decode("utf-8").startswith("<!DOCTYPE html>")


def test_engine_failures_become_render_failed(
    presentation: Document, theme: Theme, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_loader(src: str) -> tuple[bytes, str] | None:
        raise RuntimeError("secret internal detail")

    with pytest.raises(RenderError) as raised, caplog.at_level(logging.ERROR):
        render(presentation, theme, "pptx", image_loader=broken_loader)
    assert raised.value.code == "RENDER_FAILED"
    assert "secret" not in raised.value.message
    # The log says where it failed, never the exception's text or a traceback.
    assert "RuntimeError at" in caplog.text
    assert "secret internal detail" not in caplog.text
    assert "Traceback" not in caplog.text


def test_render_errors_pass_through(presentation: Document, theme: Theme) -> None:
    def refusing_loader(src: str) -> tuple[bytes, str] | None:
        raise RenderError("IMAGE_REFUSED", "An image was refused.")

    with pytest.raises(RenderError) as raised:
        render(presentation, theme, "html", image_loader=refusing_loader)
    assert raised.value.code == "IMAGE_REFUSED"


class StopRenderError(Exception):
    """What a caller raises from its progress callback to stop a render."""


@pytest.mark.parametrize("fmt", ["html", "pdf", "png", "pptx"])
def test_an_exception_from_the_progress_callback_stops_the_render_as_it_is(
    presentation: Document, theme: Theme, fmt: ExportFormat
) -> None:
    calls = []

    def stop(done: int, total: int) -> None:
        calls.append(done)
        raise StopRenderError

    with pytest.raises(StopRenderError):
        render(presentation, theme, fmt, dpi=PNG_DPI, image_loader=fake_loader, progress=stop)
    assert len(calls) == 1  # the first report stopped it
