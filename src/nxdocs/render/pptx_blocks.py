"""One PPTX shape (or a few) per block, drawn into a box the slide layout gives.

Sizes follow `measure`: the box height is what `measure.block_height`
estimated for the same block at the same font size, and paddings here are
the ones the estimate assumes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.shapes.autoshape import Shape
from pptx.shapes.placeholder import SlidePlaceholder
from pptx.slide import Slide
from pptx.table import _Cell
from pptx.text.text import TextFrame
from pptx.util import Pt

from nxdocs.pages.model import (
    Block,
    CodeBlock,
    HeadingBlock,
    ImageBlock,
    ListBlock,
    ListItem,
    ParagraphBlock,
    QuoteBlock,
    TableBlock,
    TitleBlock,
)
from nxdocs.render import measure
from nxdocs.render.images import LoadedImage
from nxdocs.render.pptx_text import (
    MONO_FONT,
    TextStyle,
    add_spans,
    add_text,
    fill_solid,
    next_paragraph,
    prepare_frame,
    set_bullet,
)
from nxdocs.render.themes import Theme


@dataclass(frozen=True)
class Box:
    """A rectangle on the slide, in points."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class Canvas:
    """What every block drawing needs: the slide, the theme, the images, the font size."""

    slide: Slide
    theme: Theme
    images: dict[str, LoadedImage | None]
    size: float  # body font size in points

    def style(
        self, *, scale: float = 1.0, color: str | None = None, italic: bool = False
    ) -> TextStyle:
        """Body text style, `scale` times the body size."""
        color = color or self.theme.colors.foreground
        return TextStyle(self.theme.font_secondary, self.size * scale, color, italic=italic)

    @property
    def link_color(self) -> str:
        return self.theme.colors.primary


def draw_block(canvas: Canvas, block: Block, box: Box) -> None:
    """Draw any block into `box` (its height from `measure.block_height`)."""
    if isinstance(block, TitleBlock | HeadingBlock):
        draw_heading(canvas, block, box)
    elif isinstance(block, ParagraphBlock):
        frame = _textbox(canvas, box)
        add_spans(next_paragraph(frame, 0), block.spans, canvas.style(), canvas.link_color)
    elif isinstance(block, ListBlock):
        _draw_list(canvas, block, box)
    elif isinstance(block, TableBlock):
        _draw_table(canvas, block, box)
    elif isinstance(block, ImageBlock):
        _draw_image(canvas, block, box)
    elif isinstance(block, QuoteBlock):
        _draw_quote(canvas, block, box)
    else:
        _draw_code(canvas, block, box)


def draw_heading(
    canvas: Canvas,
    block: TitleBlock | HeadingBlock,
    box: Box,
    placeholder: SlidePlaceholder | None = None,
) -> None:
    """A title or heading, in the slide's title `placeholder` when given.

    A title's subtitle gets its own text box below, so the slide title that
    outlines and screen readers show is the title alone.
    """
    colors = canvas.theme.colors
    level = block.level if isinstance(block, HeadingBlock) else 0
    size = canvas.size * (measure.HEADING_EM[level] if level else measure.TITLE_EM)
    height = measure.text_height(block.text, box.width, size)
    if placeholder is None:
        frame = _textbox(canvas, Box(box.left, box.top, box.width, height))
    else:
        placeholder.left, placeholder.top = Pt(box.left), Pt(box.top)
        placeholder.width, placeholder.height = Pt(box.width), Pt(height)
        frame = placeholder.text_frame
        prepare_frame(frame)
    frame.vertical_anchor = MSO_ANCHOR.TOP
    paragraph = next_paragraph(frame, 0)
    paragraph.alignment = PP_ALIGN.LEFT
    color = colors.primary if level <= 1 else colors.foreground
    add_text(paragraph, block.text, TextStyle(canvas.theme.font_primary, size, color, bold=True))
    if isinstance(block, TitleBlock) and block.subtitle:
        below = Box(box.left, box.top + height, box.width, box.height - height)
        subtitle = canvas.style(scale=measure.SUBTITLE_EM, color=colors.secondary)
        add_text(next_paragraph(_textbox(canvas, below), 0), block.subtitle, subtitle)


def _textbox(canvas: Canvas, box: Box, *, inset_x: float = 0, inset_y: float = 0) -> TextFrame:
    shape = canvas.slide.shapes.add_textbox(
        Pt(box.left), Pt(box.top), Pt(box.width), Pt(box.height)
    )
    frame: TextFrame = shape.text_frame
    prepare_frame(frame, inset_x=inset_x, inset_y=inset_y)
    return frame


def rectangle(slide: Slide, box: Box, fill: str, name: str) -> Shape:
    """A filled rectangle without outline or shadow, named for the selection pane."""
    shape = slide.shapes.add_shape(
        MSO_SHAPE.RECTANGLE, Pt(box.left), Pt(box.top), Pt(box.width), Pt(box.height)
    )
    fill_solid(shape.fill, fill)
    shape.line.fill.background()
    shape.shadow.inherit = False
    shape.name = name
    return shape


def _flatten(items: Sequence[ListItem], level: int = 0) -> Iterator[tuple[ListItem, int, int]]:
    """Each item with its nesting level and its 1-based number within its own list."""
    for number, item in enumerate(items, start=1):
        yield item, level, number
        yield from _flatten(item.items, level + 1)


def _draw_list(canvas: Canvas, block: ListBlock, box: Box) -> None:
    frame = _textbox(canvas, box)
    indent = canvas.size * measure.LIST_INDENT_EM
    for index, (item, level, number) in enumerate(_flatten(block.items)):
        paragraph = next_paragraph(frame, index)
        bullet_number = number if block.ordered else None
        set_bullet(paragraph, level, bullet_number, indent, canvas.theme.colors.primary)
        add_spans(paragraph, item.spans, canvas.style(), canvas.link_color)


def _draw_table(canvas: Canvas, block: TableBlock, box: Box) -> None:
    size = canvas.size * measure.TABLE_EM
    heights = measure.table_row_heights(block, box.width, size)
    if not heights:
        return
    rows = ([block.header] if block.header else []) + block.rows
    columns = max(len(row) for row in rows)
    frame = canvas.slide.shapes.add_table(
        len(rows), columns, Pt(box.left), Pt(box.top), Pt(box.width), Pt(box.height)
    )
    table = frame.table
    table.first_row = bool(block.header)
    table.horz_banding = False
    for index, (texts, row, height) in enumerate(zip(rows, table.rows, heights, strict=True)):
        # `row.height = ...` re-sums every row into the frame height on each call,
        # quadratic in the row count: set the row attribute, then the frame once.
        row._tr.h = Pt(height)
        padded = texts + [""] * (columns - len(texts))
        _fill_row(canvas, list(row.cells), padded, size, index, header=bool(block.header))
    frame.height = Pt(sum(heights))


def _fill_row(
    canvas: Canvas, cells: list[_Cell], texts: list[str], size: float, index: int, *, header: bool
) -> None:
    """Fill one table row; the header row and every other body row are shaded."""
    colors = canvas.theme.colors
    is_header = header and index == 0
    if is_header:
        fill, color = colors.muted, colors.text_on_muted
    else:
        fill, color = (colors.card if index % 2 == 0 else colors.background), colors.foreground
    style = TextStyle(canvas.theme.font_secondary, size, color, bold=is_header)
    for cell, text in zip(cells, texts, strict=True):
        fill_solid(cell.fill, fill)
        cell.margin_left = cell.margin_right = Pt(size * 0.5)
        cell.margin_top = cell.margin_bottom = Pt(size * 0.25)
        add_text(next_paragraph(cell.text_frame, 0), text, style)


def _draw_image(canvas: Canvas, block: ImageBlock, box: Box) -> None:
    image = canvas.images.get(block.src)
    frame_height = canvas.size * measure.IMAGE_EM
    if image is None:
        _draw_missing_image(canvas, block, Box(box.left, box.top, box.width, frame_height))
    else:
        aspect = image.width / image.height
        width = min(box.width, frame_height * aspect)
        height = width / aspect
        canvas.slide.shapes.add_picture(
            io.BytesIO(image.data), Pt(box.left), Pt(box.top), Pt(width), Pt(height)
        )
    if block.caption:
        caption_box = Box(box.left, box.top + frame_height, box.width, box.height - frame_height)
        style = canvas.style(
            scale=measure.CAPTION_EM, color=canvas.theme.colors.secondary, italic=True
        )
        add_text(next_paragraph(_textbox(canvas, caption_box), 0), block.caption, style)


def _draw_missing_image(canvas: Canvas, block: ImageBlock, box: Box) -> None:
    colors = canvas.theme.colors
    shape = rectangle(canvas.slide, box, colors.muted, "Missing image")
    frame = shape.text_frame
    prepare_frame(frame, inset_x=canvas.size, inset_y=canvas.size)
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    paragraph = next_paragraph(frame, 0)
    paragraph.alignment = PP_ALIGN.CENTER
    style = canvas.style(color=colors.text_on_muted, italic=True)
    add_text(paragraph, block.alt or "Image unavailable", style)


def _draw_quote(canvas: Canvas, block: QuoteBlock, box: Box) -> None:
    colors = canvas.theme.colors
    bar = canvas.size * 0.25
    rectangle(canvas.slide, box, colors.card, "Quote background")
    rectangle(canvas.slide, Box(box.left, box.top, bar, box.height), colors.tertiary, "Quote bar")
    frame = _textbox(canvas, box, inset_x=canvas.size, inset_y=canvas.size / 2)
    style = canvas.style(color=colors.text_on_card, italic=True)
    add_spans(next_paragraph(frame, 0), block.spans, style, canvas.link_color)
    if block.attribution:
        paragraph = next_paragraph(frame, 1)
        paragraph.alignment = PP_ALIGN.RIGHT
        add_text(paragraph, f"— {block.attribution}", canvas.style(color=colors.text_on_card))


def _draw_code(canvas: Canvas, block: CodeBlock, box: Box) -> None:
    colors = canvas.theme.colors
    rectangle(canvas.slide, box, colors.muted, "Code background")
    frame = _textbox(canvas, box, inset_x=canvas.size / 2, inset_y=canvas.size / 2)
    style = TextStyle(MONO_FONT, canvas.size * measure.CODE_EM, colors.text_on_muted)
    for index, line in enumerate(block.code.split("\n")):
        add_text(next_paragraph(frame, index), line, style)
