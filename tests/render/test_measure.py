"""The fit estimate that shrinks crowded slides, and its use in the HTML."""

from __future__ import annotations

from nxdocs.pages.model import Document, HeadingBlock, Page, ParagraphBlock, Span
from nxdocs.render import measure, render_html
from nxdocs.render.themes import Theme

from .samples import fake_loader


def _paragraph(words: int) -> ParagraphBlock:
    return ParagraphBlock(spans=[Span(text="word " * words)])


def test_text_lines_wrap_by_width() -> None:
    assert measure.text_lines("", 100, 10) == 1
    assert measure.text_lines("x" * 10, 1000, 10) == 1
    assert measure.text_lines("x" * 100, 60, 10) == 10
    assert measure.text_lines("a\nb", 1000, 10) == 2


def test_short_slides_keep_full_size_and_long_ones_shrink() -> None:
    width, height = measure.slide_content_size()
    size = measure.SLIDE_BODY_PT
    short = [HeadingBlock(text="Hi"), _paragraph(20)]
    long = [HeadingBlock(text="Hi"), _paragraph(400)]
    huge = [HeadingBlock(text="Hi"), _paragraph(4000)]
    assert measure.fit_scale(short, width, height, size) == 1.0
    assert measure.MIN_SCALE < measure.fit_scale(long, width, height, size) < 1.0
    assert measure.fit_scale(huge, width, height, size) == measure.MIN_SCALE


def test_crowded_slides_get_a_smaller_font_in_html(theme: Theme) -> None:
    document = Document(
        type="presentation",
        title="t",
        pages=[Page(blocks=[_paragraph(10)]), Page(blocks=[_paragraph(400)])],
    )
    html = render_html(document, theme, image_loader=fake_loader)
    first, second = html.split('data-page="')[1:]
    assert "font-size" not in first.split(">")[0]
    assert 'style="font-size: ' in second.split(">")[0]
