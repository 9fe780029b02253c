"""Text in PPTX shapes: styled runs, real bullets and numbering.

python-pptx has no API for bullets in a plain text box, so list paragraphs
get the DrawingML bullet elements (`a:buChar`, `a:buAutoNum`) directly; a
viewer then shows real, editable list levels rather than typed-in symbols.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pptx.dml.color import RGBColor
from pptx.dml.fill import FillFormat
from pptx.enum.text import MSO_AUTO_SIZE
from pptx.oxml.xmlchemy import BaseOxmlElement, OxmlElement
from pptx.text.text import TextFrame, _Paragraph
from pptx.util import Centipoints, Pt

from nxdocs.pages.model import Span
from nxdocs.render import measure
from nxdocs.render.text import clean_text, safe_href

MONO_FONT = "DejaVu Sans Mono"


@dataclass(frozen=True)
class TextStyle:
    """How a run of text is drawn: font, size in points, colour `#rrggbb`."""

    font: str
    size: float
    color: str
    bold: bool = False
    italic: bool = False


# python-pptx leaves a few methods unannotated; the `type: ignore`s below
# keep those calls in this one module.


def rgb(color: str) -> RGBColor:
    value = int(color.lstrip("#"), 16)
    return RGBColor(value >> 16, (value >> 8) & 0xFF, value & 0xFF)  # type: ignore[no-untyped-call]


def fill_solid(fill: FillFormat, color: str) -> None:
    fill.solid()  # type: ignore[no-untyped-call]
    fill.fore_color.rgb = rgb(color)


def prepare_frame(frame: TextFrame, *, inset_x: float = 0.0, inset_y: float = 0.0) -> None:
    """Wrap text in a fixed box; insets in points."""
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.margin_left = frame.margin_right = Pt(inset_x)
    frame.margin_top = frame.margin_bottom = Pt(inset_y)


def next_paragraph(frame: TextFrame, index: int) -> _Paragraph:
    """The frame's first paragraph for index 0, else a new one."""
    paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()  # type: ignore[no-untyped-call]
    paragraph.line_spacing = measure.LINE_HEIGHT
    return paragraph


def add_text(paragraph: _Paragraph, text: str, style: TextStyle) -> None:
    run = paragraph.add_run()
    run.text = clean_text(text)
    font = run.font
    font.name = style.font
    font.size = Centipoints(round(style.size * 100))  # Pt() truncates 20.4 to 20.39
    font.bold = style.bold
    font.italic = style.italic
    font.color.rgb = rgb(style.color)


def add_spans(paragraph: _Paragraph, spans: Iterable[Span], style: TextStyle, link: str) -> None:
    """One run per span; links (http(s)/mailto only) are real hyperlinks in `link` colour."""
    for span in spans:
        href = safe_href(span.href)
        add_text(
            paragraph,
            span.text,
            TextStyle(
                font=MONO_FONT if span.code else style.font,
                size=style.size,
                color=link if href else style.color,
                bold=style.bold or span.bold,
                italic=style.italic or span.italic,
            ),
        )
        if href:
            run = paragraph.runs[-1]
            run.hyperlink.address = href
            run.font.underline = True


def set_bullet(
    paragraph: _Paragraph, level: int, number: int | None, indent: float, color: str
) -> None:
    """Make `paragraph` a list item at `level` (0-based): a bullet, or `number` when given.

    Each numbered item carries its own `startAt`, so the numbers are right
    even where a nested list interrupts the sequence.
    """
    paragraph.level = level
    p_pr = paragraph._p.get_or_add_pPr()
    p_pr.set("marL", str(Pt(indent * (level + 1))))
    p_pr.set("indent", str(-Pt(indent)))
    bullet_color = _append(p_pr, "a:buClr")
    _append(bullet_color, "a:srgbClr", val=color.lstrip("#").upper())
    if number is None:
        _append(p_pr, "a:buFont", typeface="DejaVu Sans")
        _append(p_pr, "a:buChar", char="•" if level % 2 == 0 else "◦")
    elif number == 1:
        _append(p_pr, "a:buAutoNum", type="arabicPeriod")
    else:
        _append(p_pr, "a:buAutoNum", type="arabicPeriod", startAt=str(number))


def _append(parent: BaseOxmlElement, tag: str, **attributes: str) -> BaseOxmlElement:
    child = OxmlElement(tag)
    for name, value in attributes.items():
        child.set(name, value)
    parent.append(child)
    return child
