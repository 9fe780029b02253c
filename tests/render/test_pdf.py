"""PDF export, read back with pypdf: pages, sizes, text in order."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from nxdocs.pages.model import Document
from nxdocs.render import PageSize, render_html, render_pdf
from nxdocs.render.themes import Theme

from .samples import BROKEN_IMAGE_ALT, fake_loader, page_titles, png_bytes, png_data_uri

MM = 72 / 25.4


def _reader(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def _assert_titles_on_their_pages(reader: pypdf.PdfReader, titles: list[str]) -> None:
    texts = [page.extract_text() for page in reader.pages]
    assert len(texts) == len(titles)
    for number, (text, title) in enumerate(zip(texts, titles, strict=True), start=1):
        assert title in text, f"page {number} lacks its title {title!r}"


def test_presentation_has_one_16_9_page_per_slide(
    presentation: Document, presentation_pdf: bytes
) -> None:
    reader = _reader(presentation_pdf)
    assert len(reader.pages) == len(presentation.pages) == 10
    for page in reader.pages:
        box = page.mediabox
        assert float(box.width) / float(box.height) == pytest.approx(16 / 9, rel=1e-3)
        assert float(box.width) == pytest.approx(254 * MM, abs=0.5)


def test_presentation_text_is_extractable_in_order(
    presentation: Document, presentation_pdf: bytes
) -> None:
    reader = _reader(presentation_pdf)
    _assert_titles_on_their_pages(reader, page_titles(presentation))
    second = reader.pages[1].extract_text()
    order = ["We shipped", "three", "releases", "our site"]
    positions = [second.index(word) for word in order]
    assert positions == sorted(positions)


def test_speaker_notes_are_not_printed(presentation_pdf: bytes) -> None:
    text = "".join(page.extract_text() for page in _reader(presentation_pdf).pages)
    assert "Mention the release dates" not in text
    assert "Pause after the quote" not in text


def test_missing_image_prints_its_alt_text(presentation_pdf: bytes) -> None:
    assert BROKEN_IMAGE_ALT in _reader(presentation_pdf).pages[8].extract_text()


def test_only_safe_links_become_pdf_links(presentation_pdf: bytes) -> None:
    annotations = _reader(presentation_pdf).pages[1].get("/Annots") or []
    uris = [annotation.get_object()["/A"]["/URI"] for annotation in annotations]
    assert uris == ["https://example.com/q3"]


@pytest.mark.parametrize(
    ("page_size", "width_mm", "height_mm"),
    [("A4", 210, 297), ("Letter", 215.9, 279.4)],
)
def test_document_pages_use_the_paper_size(
    document: Document, theme: Theme, page_size: PageSize, width_mm: float, height_mm: float
) -> None:
    html = render_html(document, theme, page_size=page_size, image_loader=fake_loader)
    reader = _reader(render_pdf(html))
    _assert_titles_on_their_pages(reader, page_titles(document))
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(width_mm * MM, abs=0.5)
        assert float(page.mediabox.height) == pytest.approx(height_mm * MM, abs=0.5)


def test_a_crowded_slide_stays_on_one_page(theme: Theme) -> None:
    crowded = Document.model_validate(
        {
            "type": "presentation",
            "title": "Crowded",
            "pages": [
                {
                    "blocks": [
                        {"type": "heading", "text": "Too much"},
                        {"type": "paragraph", "spans": [{"text": "word " * 3000}]},
                        {"type": "table", "rows": [["a", "b"]] * 150},
                    ]
                },
                {"blocks": [{"type": "heading", "text": "Next slide"}]},
            ],
        }
    )
    reader = _reader(render_pdf(render_html(crowded, theme, image_loader=fake_loader)))
    assert len(reader.pages) == 2
    assert "Next slide" in reader.pages[1].extract_text()


def test_pdf_rendering_reads_no_files(tmp_path: Path) -> None:
    local = tmp_path / "local.png"
    local.write_bytes(png_bytes())
    html = f'<img src="{local.as_uri()}"><img src="{png_data_uri()}"><p>still renders</p>'
    page = _reader(render_pdf(html)).pages[0]
    assert "still renders" in page.extract_text()
    assert len(page.images) == 1  # the data: URI only
