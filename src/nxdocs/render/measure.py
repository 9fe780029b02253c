"""How much room a block needs on a slide, to shrink crowded slides to fit.

A slide has a fixed size, so a page with too much content is drawn with a
smaller font instead of overflowing. Neither renderer can ask its layout
engine beforehand, so both use this estimate: characters have an average
width and lines a fixed height. The relative sizes (`*_EM`, in body font
ems) are shared with the HTML theme CSS and the PPTX builder, so a slide
keeps the same proportions in every format.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nxdocs.pages.model import (
    Block,
    HeadingBlock,
    ImageBlock,
    ListBlock,
    ListItem,
    ParagraphBlock,
    QuoteBlock,
    TableBlock,
    TitleBlock,
)
from nxdocs.render.text import plain_text

# Slide geometry in millimetres, 16:9 at 10in wide; PPTX scales it to 13.333in.
SLIDE_WIDTH_MM = 254.0
SLIDE_HEIGHT_MM = 142.875
SLIDE_PAD_X_MM = 16.0
SLIDE_PAD_Y_MM = 11.0
SLIDE_BAR_MM = 2.5  # the accent bar along the top edge
SLIDE_BODY_PT = 18.0  # body font size on the 10in slide
PT_PER_MM = 72 / 25.4

LINE_HEIGHT = 1.3
CHAR_WIDTH_EM = 0.55  # DejaVu Sans averages a little over half an em per character
TITLE_EM = 2.2
SUBTITLE_EM = 1.2
HEADING_EM = {1: 1.6, 2: 1.35, 3: 1.2, 4: 1.1}
CODE_EM = 0.8
TABLE_EM = 0.8
CAPTION_EM = 0.75
IMAGE_EM = 9.0  # the height of an image box, in body ems
LIST_INDENT_EM = 1.5
GAP_EM = 0.6  # space between blocks
MIN_SCALE = 0.45
_SCALE_STEP = 0.05


def slide_content_size() -> tuple[float, float]:
    """Width and height, in points, of a 10in slide's content box."""
    width = SLIDE_WIDTH_MM - 2 * SLIDE_PAD_X_MM
    height = SLIDE_HEIGHT_MM - 2 * SLIDE_PAD_Y_MM - SLIDE_BAR_MM
    return width * PT_PER_MM, height * PT_PER_MM


def text_lines(text: str, width: float, size: float) -> int:
    """Lines `text` wraps to in a box `width` wide at font `size` (same units)."""
    per_line = max(1, int(width / (size * CHAR_WIDTH_EM)))
    return sum(max(1, math.ceil(len(line) / per_line)) for line in text.split("\n"))


def block_height(block: Block, width: float, size: float) -> float:
    """The height of `block` in a column `width` wide with body font `size`."""
    match block:
        case TitleBlock():
            height = _title_height(block, width, size)
        case HeadingBlock():
            height = text_height(block.text, width, size * HEADING_EM[block.level])
        case ParagraphBlock():
            height = text_height(plain_text(block.spans), width, size)
        case ListBlock():
            height = _list_height(block.items, width, size)
        case TableBlock():
            height = sum(table_row_heights(block, width, size * TABLE_EM))
        case ImageBlock():
            height = size * IMAGE_EM + text_height(block.caption or "", width, size * CAPTION_EM)
        case QuoteBlock():
            # padding: 1em each side, 0.5em above and below
            quote = text_height(plain_text(block.spans), width - 2 * size, size)
            height = quote + (text_height("x", width, size) if block.attribution else 0) + size
        case _:
            height = text_height(block.code, width - size, size * CODE_EM) + size
    return height


def fit_scale(blocks: Sequence[Block], width: float, height: float, size: float) -> float:
    """The largest font scale (down to `MIN_SCALE`) at which `blocks` fit `height`."""
    scale = 1.0
    while scale > MIN_SCALE and _stack_height(blocks, width, size * scale) > height:
        scale -= _SCALE_STEP
    return max(round(scale, 2), MIN_SCALE)


def _stack_height(blocks: Sequence[Block], width: float, size: float) -> float:
    gaps = size * GAP_EM * max(0, len(blocks) - 1)
    return gaps + sum(block_height(block, width, size) for block in blocks)


def text_height(text: str, width: float, size: float) -> float:
    """The height of `text` wrapped in `width` at font `size`; empty text takes no room."""
    return text_lines(text, width, size) * size * LINE_HEIGHT if text else 0.0


def _title_height(block: TitleBlock, width: float, size: float) -> float:
    title = text_height(block.text, width, size * TITLE_EM)
    return title + text_height(block.subtitle or "", width, size * SUBTITLE_EM)


def _list_height(items: Sequence[ListItem], width: float, size: float) -> float:
    indent = size * LIST_INDENT_EM
    return sum(
        text_height(plain_text(item.spans), width - indent, size)
        + _list_height(item.items, width - indent, size)
        for item in items
    )


def table_row_heights(block: TableBlock, width: float, size: float) -> list[float]:
    """The height of each row (the header first); no rows when the table has no columns."""
    columns = max([len(block.header), *(len(row) for row in block.rows)])
    if columns == 0:
        return []
    cell_width = width / columns - size  # cells are padded half an em on each side
    rows = ([block.header] if block.header else []) + block.rows
    return [
        max([1, *(text_lines(cell, cell_width, size) for cell in row)]) * size * LINE_HEIGHT
        + size * 0.5
        for row in rows
    ]
