"""Variations: several complete answers to one request (`variations` on a create).

With a language model each variation is an answer of its own: one call per
variation, the prompt naming which one it is (`llm_prompt.system_prompt`), so
the answers differ. Without one, the Markdown and outline generators have a
single answer, so the request is generated once and each variation lays those
pages out its own way (the artifact gives each its own theme besides):

* `standard`: as generated (variation 1, the artifact asked for);
* `numbered`: every list numbered;
* `table`: every list a two-column table of numbered points (1, 1.1, ...),
  as plain text; a list that would not fit a table stays a list;
* `spotlight`: a page that opens with a heading opens with a big title
  instead, and a title page's subtitle becomes a highlighted quote under
  the title.

A layout maps page to page, so every variation has the pages, the count and
the speaker notes of the first. Variations 5 and on would reuse the layouts
in turn; requests stop at 4.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Literal

from nxdocs.generate.generator_choice import choose_generator
from nxdocs.generate.interface import Checkpoint, GeneratedArtifact, GenerationRequest
from nxdocs.generate.llm import LlmGenerator
from nxdocs.pages import (
    Block,
    Document,
    HeadingBlock,
    ListBlock,
    ListItem,
    Page,
    QuoteBlock,
    Span,
    TableBlock,
    TitleBlock,
)

Layout = Literal["standard", "numbered", "table", "spotlight"]
LAYOUTS: tuple[Layout, ...] = ("standard", "numbered", "table", "spotlight")

_PAGE_BLOCKS = 100  # `Page.blocks` max_length
_TABLE_ROWS = 200  # `TableBlock.rows` max_length
_CELL_CHARS = 1000  # a table cell's max_length


def generate_variations(
    request: GenerationRequest,
    numbers: Sequence[int],
    llm: LlmGenerator | None,
    checkpoint: Checkpoint,
) -> Iterator[tuple[int, GeneratedArtifact]]:
    """(number, generation) for each variation of `request` in `numbers`, in order.

    Lazy: a variation is generated only when the previous one has been taken,
    and `checkpoint()` runs before each, so a caller that stores each before
    asking for the next one stops between variations when told to.
    """
    generator = choose_generator(request, llm)
    if isinstance(generator, LlmGenerator):
        for number in numbers:
            checkpoint()
            yield number, generator.generate(replace(request, variation=number), checkpoint)
        return
    first = generator.generate(request, checkpoint)
    for number in numbers:
        checkpoint()
        yield number, first if request.variations == 1 else laid_out(first, layout_of(number))


def layout_of(variation: int) -> Layout:
    """The layout of a variation without a language model (1 is `standard`)."""
    return LAYOUTS[(variation - 1) % len(LAYOUTS)]


def laid_out(generated: GeneratedArtifact, layout: Layout) -> GeneratedArtifact:
    """`generated` in `layout`, which its metadata records."""
    return GeneratedArtifact(
        document=lay_out(generated.document, layout),
        name=generated.name,
        metadata={**generated.metadata, "layout": layout},
    )


def lay_out(document: Document, layout: Layout) -> Document:
    """The same pages in another layout; validated again, so bounds still hold."""
    if layout == "standard":
        return document
    change = _PAGE_CHANGES[layout]
    pages = [change(page) for page in document.pages]
    return Document(type=document.type, title=document.title, pages=pages)


def _numbered(page: Page) -> Page:
    blocks = [_number_list(block) for block in page.blocks]
    return Page(blocks=blocks, notes=page.notes)


def _number_list(block: Block) -> Block:
    if isinstance(block, ListBlock):
        return ListBlock(ordered=True, items=block.items)
    return block


def _tables(page: Page) -> Page:
    blocks = [_as_table(block) if isinstance(block, ListBlock) else block for block in page.blocks]
    return Page(blocks=blocks, notes=page.notes)


def _as_table(block: ListBlock) -> Block:
    """The list as rows of (number, text): `1`, `1.1`, ...; the list itself if it
    has more rows or longer text than a table holds."""
    rows = [[label, text] for label, text in _points(block.items, "")]
    if len(rows) > _TABLE_ROWS or any(len(text) > _CELL_CHARS for _, text in rows):
        return block
    return TableBlock(rows=rows)


def _points(items: Sequence[ListItem], prefix: str) -> Iterator[tuple[str, str]]:
    for number, item in enumerate(items, start=1):
        label = f"{prefix}{number}"
        yield label, "".join(span.text for span in item.spans)
        yield from _points(item.items, f"{label}.")


def _spotlight(page: Page) -> Page:
    blocks = list(page.blocks)
    first = blocks[0] if blocks else None
    if isinstance(first, HeadingBlock):
        blocks[0] = TitleBlock(text=first.text)
    elif isinstance(first, TitleBlock) and first.subtitle and len(blocks) < _PAGE_BLOCKS:
        quote = QuoteBlock(spans=[Span(text=first.subtitle)])
        blocks[0:1] = [TitleBlock(text=first.text), quote]
    return Page(blocks=blocks, notes=page.notes)


_PAGE_CHANGES = {"numbered": _numbered, "table": _tables, "spotlight": _spotlight}
