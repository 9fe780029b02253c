"""PPTX export, read back with python-pptx: slides, titles, lists, tables, notes."""

from __future__ import annotations

import io

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.oxml.ns import qn
from pptx.presentation import Presentation as PresentationObject
from pptx.shapes.base import BaseShape
from pptx.slide import Slide
from pptx.util import Emu, Pt

from nxdocs.pages.model import Document
from nxdocs.render import get_theme, render_pptx
from nxdocs.render.themes import Theme

from .samples import BROKEN_IMAGE_ALT, fake_loader, page_titles


@pytest.fixture(scope="module")
def deck(presentation_pptx: bytes) -> PresentationObject:
    return Presentation(io.BytesIO(presentation_pptx))


def _text_shapes(slide: Slide) -> list[BaseShape]:
    return [shape for shape in slide.shapes if shape.has_text_frame and shape.text_frame.text]


def _shape_with(slide: Slide, text: str) -> BaseShape:
    return next(shape for shape in _text_shapes(slide) if text in shape.text_frame.text)


def test_slides_are_16_9(deck: PresentationObject) -> None:
    assert deck.slide_width == Emu(12192000)  # 13.333in
    assert deck.slide_height == Emu(6858000)


def test_one_slide_per_page_with_its_title(
    deck: PresentationObject, presentation: Document
) -> None:
    slides = list(deck.slides)
    assert len(slides) == len(presentation.pages) == 10
    titles = [slide.shapes.title.text_frame.text for slide in slides]
    assert titles == page_titles(presentation)


def test_subtitle_is_its_own_text_box(deck: PresentationObject) -> None:
    cover = deck.slides[0]
    assert _shape_with(cover, "Results and plans for Q3") is not cover.shapes.title


def test_nested_bullets_have_real_levels(deck: PresentationObject) -> None:
    frame = _shape_with(deck.slides[2], "Growth in").text_frame
    levels = [(paragraph.level, paragraph.text) for paragraph in frame.paragraphs]
    assert levels == [
        (0, "Growth in every region"),
        (1, "Europe up 12%"),
        (2, "Nordics led the way"),
        (1, "Americas up 8%"),
        (0, "Costs held flat"),
    ]
    for paragraph in frame.paragraphs:
        assert paragraph._p.pPr.find(qn("a:buChar")) is not None
    bold = [run.text for run in frame.paragraphs[0].runs if run.font.bold]
    assert bold == ["every"]


def test_numbered_list_uses_autonumbering(deck: PresentationObject) -> None:
    frame = _shape_with(deck.slides[3], "Hire two engineers").text_frame
    numbering = [
        (paragraph.level, paragraph._p.pPr.find(qn("a:buAutoNum")).get("startAt", "1"))
        for paragraph in frame.paragraphs
    ]
    assert numbering == [(0, "1"), (1, "1"), (0, "2")]


def test_table_is_a_real_table(deck: PresentationObject) -> None:
    frames = [shape for shape in deck.slides[4].shapes if shape.has_table]
    assert len(frames) == 1
    table = frames[0].table
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells[0] == ["Region", "Q1", "Q2"]
    assert cells[1] == ["Europe", "1.2M", "1.4M"]
    assert len(cells) == 4


def test_pictures_and_missing_image_placeholder(deck: PresentationObject) -> None:
    def pictures(index: int) -> list[BaseShape]:
        shapes = deck.slides[index].shapes
        return [shape for shape in shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]

    assert len(pictures(5)) == 1
    assert len(pictures(8)) == 1  # the loaded remote image; the other failed
    assert _shape_with(deck.slides[8], BROKEN_IMAGE_ALT)


def test_quote_and_code_are_styled_text(deck: PresentationObject) -> None:
    quote = _shape_with(deck.slides[6], "predict the future").text_frame
    assert quote.paragraphs[0].runs[0].font.italic
    assert quote.paragraphs[-1].text == "— Alan Kay"
    code = _shape_with(deck.slides[7], "def forecast").text_frame
    assert [paragraph.text for paragraph in code.paragraphs][1].startswith("    return")
    assert code.paragraphs[0].runs[0].font.name == "DejaVu Sans Mono"


def test_links_are_hyperlinks_and_unsafe_ones_are_text(deck: PresentationObject) -> None:
    runs = _shape_with(deck.slides[1], "We shipped").text_frame.paragraphs[0].runs
    links = {run.text: run.hyperlink.address for run in runs if run.hyperlink.address}
    assert links == {"our site": "https://example.com/q3"}


def test_notes_are_in_the_notes_pane(deck: PresentationObject) -> None:
    notes = {
        index: slide.notes_slide.notes_text_frame.text
        for index, slide in enumerate(deck.slides)
        if slide.has_notes_slide
    }
    assert notes == {
        1: "Mention the release dates before moving on.",
        6: "Pause after the quote.",
        9: "Open the floor for questions.",
    }
    all_text = " ".join(
        shape.text_frame.text for slide in deck.slides for shape in _text_shapes(slide)
    )
    assert "Mention the release dates" not in all_text


@pytest.mark.parametrize("theme_id", ["theme_classic", "theme_midnight"])
def test_theme_colours_and_fonts_are_applied(presentation: Document, theme_id: str) -> None:
    theme = get_theme(theme_id)
    deck = Presentation(io.BytesIO(render_pptx(presentation.select([2]), theme, fake_loader)))
    slide = deck.slides[0]
    assert str(slide.background.fill.fore_color.rgb) == theme.colors.background[1:].upper()
    title_run = slide.shapes.title.text_frame.paragraphs[0].runs[0]
    assert title_run.font.name == theme.font_primary
    body_run = _shape_with(slide, "We shipped").text_frame.paragraphs[0].runs[0]
    assert body_run.font.name == theme.font_secondary
    assert str(body_run.font.color.rgb) == theme.colors.foreground[1:].upper()


def test_a_crowded_slide_gets_a_smaller_font(theme: Theme) -> None:
    crowded = Document.model_validate(
        {
            "type": "presentation",
            "title": "Crowded",
            "pages": [
                {"blocks": [{"type": "paragraph", "spans": [{"text": "Short."}]}]},
                {
                    "blocks": [
                        {"type": "paragraph", "spans": [{"text": "word " * 400}]},
                        {"type": "table", "header": ["a"], "rows": [["b"]] * 200},
                        {"type": "list", "items": [{"spans": [{"text": "deep"}]}] * 200},
                        {"type": "table", "rows": [[]]},
                    ]
                },
            ],
        }
    )
    deck = Presentation(io.BytesIO(render_pptx(crowded, theme, fake_loader)))
    sizes = [
        _text_shapes(slide)[0].text_frame.paragraphs[0].runs[0].font.size for slide in deck.slides
    ]
    assert sizes[1] < sizes[0]
    assert sizes[1] >= Pt(10)


def test_documents_become_one_slide_per_page(document: Document, theme: Theme) -> None:
    deck = Presentation(io.BytesIO(render_pptx(document, theme, fake_loader)))
    assert len(deck.slides) == len(document.pages)
    assert deck.slides[0].shapes.title.text_frame.text == "Annual Report"
