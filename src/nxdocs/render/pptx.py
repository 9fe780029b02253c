"""The PPTX renderer: native, editable slides built from the page model.

Every page becomes one 16:9 slide (13.333in x 7.5in) whose geometry is the
HTML slide's scaled up, so both exports look alike. Blocks are stacked top to
bottom in the content box; a crowded slide gets a smaller font, the same
`measure.fit_scale` the HTML renderer uses. A slide that starts with a title
or heading puts it in the layout's title placeholder, so outlines,
accessibility checkers and the slide sorter see it as the slide title.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

from pptx import Presentation
from pptx.presentation import Presentation as PresentationObject
from pptx.slide import Slide
from pptx.util import Pt

from nxdocs.pages.model import Block, Document, HeadingBlock, Page, TitleBlock
from nxdocs.render import measure
from nxdocs.render.images import ImageLoader, LoadedImage, load_images
from nxdocs.render.pptx_blocks import Box, Canvas, draw_block, draw_heading, rectangle
from nxdocs.render.pptx_text import fill_solid
from nxdocs.render.text import clean_text
from nxdocs.render.themes import Theme

Progress = Callable[[int, int], None]

SLIDE_WIDTH_PT = 960.0  # 13.333in
# Rounded so that 18pt on the 10in slide is exactly 24pt here, not 23.99.
_SCALE = SLIDE_WIDTH_PT / round(measure.SLIDE_WIDTH_MM * measure.PT_PER_MM, 6)
SLIDE_HEIGHT_PT = measure.SLIDE_HEIGHT_MM * measure.PT_PER_MM * _SCALE  # 7.5in
_PAD_X = measure.SLIDE_PAD_X_MM * measure.PT_PER_MM * _SCALE
_PAD_Y = measure.SLIDE_PAD_Y_MM * measure.PT_PER_MM * _SCALE
_BAR = measure.SLIDE_BAR_MM * measure.PT_PER_MM * _SCALE
_BODY_PT = measure.SLIDE_BODY_PT * _SCALE


def render_pptx(
    document: Document,
    theme: Theme,
    image_loader: ImageLoader,
    progress: Progress | None = None,
) -> bytes:
    """The document as a PPTX file, one slide per page."""
    images = load_images(document, image_loader)
    presentation = Presentation()
    presentation.slide_width = Pt(SLIDE_WIDTH_PT)
    presentation.slide_height = Pt(SLIDE_HEIGHT_PT)
    presentation.core_properties.title = clean_text(document.title)
    total = len(document.pages)
    for number, page in enumerate(document.pages, start=1):
        _add_slide(presentation, page, theme, images)
        if progress is not None:
            progress(number, total)
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def _add_slide(
    presentation: PresentationObject,
    page: Page,
    theme: Theme,
    images: dict[str, LoadedImage | None],
) -> None:
    blocks = page.blocks
    titled = bool(blocks) and isinstance(blocks[0], TitleBlock | HeadingBlock)
    layout = presentation.slide_layouts.get_by_name("Title Only" if titled else "Blank")
    if layout is None:  # the bundled default template has both layouts
        raise LookupError("the default PPTX template lacks a layout")
    slide = presentation.slides.add_slide(layout)
    _paint_background(slide, theme)
    canvas = Canvas(slide=slide, theme=theme, images=images, size=_fitted_size(blocks))
    for index, (block, box) in enumerate(zip(blocks, _stack(blocks, canvas.size), strict=True)):
        if index == 0 and isinstance(block, TitleBlock | HeadingBlock):
            draw_heading(canvas, block, box, slide.shapes.title)
        else:
            draw_block(canvas, block, box)
    if page.notes:
        slide.notes_slide.notes_text_frame.text = clean_text(page.notes)


def _content_size() -> tuple[float, float]:
    width, height = measure.slide_content_size()
    return width * _SCALE, height * _SCALE


def _fitted_size(blocks: Sequence[Block]) -> float:
    """The body font size at which the blocks fit the slide."""
    width, height = _content_size()
    return _BODY_PT * measure.fit_scale(blocks, width, height, _BODY_PT)


def _stack(blocks: Sequence[Block], size: float) -> list[Box]:
    """One box per block, top to bottom; a lone title is centred vertically."""
    width, height = _content_size()
    heights = [measure.block_height(block, width, size) for block in blocks]
    top = _BAR + _PAD_Y
    if len(blocks) == 1 and isinstance(blocks[0], TitleBlock):
        top += max(0.0, (height - heights[0]) / 2)
    boxes = []
    for block_height in heights:
        boxes.append(Box(_PAD_X, top, width, block_height))
        top += block_height + size * measure.GAP_EM
    return boxes


def _paint_background(slide: Slide, theme: Theme) -> None:
    fill_solid(slide.background.fill, theme.colors.background)
    rectangle(slide, Box(0, 0, SLIDE_WIDTH_PT, _BAR), theme.colors.primary, "Accent bar")
