"""Independent readers of exported files: what a client would see in each format.

They open the files with libraries nxdocs does not render with (pypdf,
python-pptx, Pillow + zipfile, html.parser).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser

from PIL import Image
from pptx import Presentation
from pypdf import PdfReader


def squash(text: str) -> str:
    return " ".join(text.split())


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text, as pypdf extracts it, whitespace squashed."""
    reader = PdfReader(io.BytesIO(data))
    return [squash(page.extract_text()) for page in reader.pages]


@dataclass(frozen=True)
class Slide:
    title: str | None
    paragraphs: list[tuple[int, str]]
    notes: str | None
    text: str


def pptx_slides(data: bytes) -> list[Slide]:
    """Each slide's title placeholder, every text paragraph with its level, and its notes."""
    slides = []
    for slide in Presentation(io.BytesIO(data)).slides:
        title = slide.shapes.title
        title_id = None if title is None else title.shape_id
        paragraphs = [
            (paragraph.level, paragraph.text)
            for shape in slide.shapes
            if shape.has_text_frame and shape.shape_id != title_id
            for paragraph in shape.text_frame.paragraphs
            if paragraph.text
        ]
        texts = [
            shape.text_frame.text
            for shape in slide.shapes
            if shape.has_text_frame and shape.text_frame.text
        ]
        for shape in slide.shapes:
            if shape.has_table:
                texts.extend(cell.text for row in shape.table.rows for cell in row.cells)
        notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else None
        slides.append(
            Slide(
                title=None if title is None else title.text_frame.text,
                paragraphs=paragraphs,
                notes=notes or None,
                text=squash(" ".join(texts)),
            )
        )
    return slides


def png_pages(data: bytes) -> dict[str, tuple[int, int]]:
    """The archive's entries in order, each checked to be a PNG, with its pixel size."""
    sizes = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            with Image.open(io.BytesIO(archive.read(name))) as image:
                image.load()
                assert image.format == "PNG", name
                sizes[name] = image.size
    return sizes


class _HtmlPages(HTMLParser):
    """The visible and the hidden text of each `data-page` element, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.visible: list[list[str]] = []
        self.hidden: list[list[str]] = []
        self._stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "data-page" in attributes:
            assert attributes["data-page"] == str(len(self.visible) + 1)
            self.visible.append([])
            self.hidden.append([])
        if tag in {"img", "meta", "br", "hr", "link"}:
            return
        inherited = bool(self._stack) and self._stack[-1][1]
        self._stack.append((tag, inherited or "hidden" in attributes))

    def handle_endtag(self, tag: str) -> None:
        assert self._stack.pop()[0] == tag, f"</{tag}> closes another element"

    def handle_data(self, data: str) -> None:
        if not self.visible or any(tag in {"style", "script"} for tag, _ in self._stack):
            return
        hidden = bool(self._stack) and self._stack[-1][1]
        (self.hidden if hidden else self.visible)[-1].append(data)


@dataclass(frozen=True)
class HtmlPage:
    text: str
    hidden: str


def html_pages(html: str) -> list[HtmlPage]:
    reader = _HtmlPages()
    reader.feed(html)
    reader.close()
    return [
        HtmlPage(squash(" ".join(visible)), squash(" ".join(hidden)))
        for visible, hidden in zip(reader.visible, reader.hidden, strict=True)
    ]


def in_order(text: str, phrases: list[str]) -> bool:
    """Every phrase occurs in `text`, each after the one before."""
    position = 0
    for phrase in phrases:
        found = text.find(phrase, position)
        if found < 0:
            return False
        position = found + len(phrase)
    return True
