"""Markdown syntax-tree nodes (markdown-it-py) to page blocks.

Pure mapping, one top-level node at a time; how nodes are grouped into pages
is `markdown.py`'s business. Constructing a block validates it, so a
`pydantic.ValidationError` here means the content broke a page-model bound.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from markdown_it.tree import SyntaxTreeNode
from pydantic import ValidationError

from nxdocs.generate.naming import shorten
from nxdocs.pages import (
    Block,
    CodeBlock,
    HeadingBlock,
    ImageBlock,
    ListBlock,
    ListItem,
    ParagraphBlock,
    QuoteBlock,
    Span,
    TableBlock,
)

_MAX_HEADING_LEVEL = 4  # `HeadingBlock.level` bound; h5 and h6 are drawn as h4
_MAX_LANGUAGE = 50  # `CodeBlock.language` bound
_MAX_IMAGE_TEXT = 1000  # `ImageBlock.alt` and `.caption` bound
_ATTRIBUTION = re.compile(r"^\s*(?:--|—|―)\s*(?P<who>\S.*)$")
_LISTS = ("bullet_list", "ordered_list")


@dataclass(frozen=True)
class _Style:
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str | None = None


_PLAIN = _Style()


@dataclass
class _Inline:
    """Collects formatted text runs (and, in paragraphs, images) from inline nodes.

    Images become `ImageBlock`s only where `images` is a list (a paragraph);
    inside list items, cells and quotes there is no place for a block, so an
    image stands for its alt text there.
    """

    images: list[ImageBlock] | None = None
    runs: list[tuple[str, _Style]] = field(default_factory=list)

    def add(self, nodes: Sequence[SyntaxTreeNode], style: _Style = _PLAIN) -> None:
        for node in nodes:
            self._add_one(node, style)

    def _add_one(self, node: SyntaxTreeNode, style: _Style) -> None:
        kind = node.type
        if kind == "softbreak":
            self.runs.append((" ", style))
        elif kind == "hardbreak":
            self.runs.append(("\n", style))
        elif kind == "code_inline":
            self.runs.append((node.content, replace(style, code=True)))
        elif kind == "strong":
            self.add(node.children, replace(style, bold=True))
        elif kind == "em":
            self.add(node.children, replace(style, italic=True))
        elif kind == "link":
            self.add(node.children, replace(style, href=str(node.attrs["href"])))
        elif kind == "image":
            self._add_image(node, style)
        elif node.children:
            # Strikethrough and any other container: the page model has no
            # style for it, so only its text is kept.
            self.add(node.children, style)
        else:
            self.runs.append((node.content, style))

    def _add_image(self, node: SyntaxTreeNode, style: _Style) -> None:
        if self.images is None:
            self.runs.append((node.content, style))
            return
        image = image_block(node)
        if image is not None:
            self.images.append(image)

    def line_break(self) -> None:
        """Separate what follows from what came before (a new paragraph or line)."""
        if self.runs and self.runs[-1][0] != "\n":
            self.runs.append(("\n", _PLAIN))

    def spans(self) -> list[Span]:
        """The runs as spans: neighbours with one style merged, ends trimmed."""
        merged: list[tuple[str, _Style]] = []
        for text, style in self.runs:
            if merged and merged[-1][1] == style:
                merged[-1] = (merged[-1][0] + text, style)
            elif text:
                merged.append((text, style))
        if merged:
            merged[0] = (merged[0][0].lstrip(), merged[0][1])
            merged[-1] = (merged[-1][0].rstrip(), merged[-1][1])
        return [_span(text, style) for text, style in merged if text]


def _span(text: str, style: _Style) -> Span:
    return Span(text=text, bold=style.bold, italic=style.italic, code=style.code, href=style.href)


def plain_text(node: SyntaxTreeNode) -> str:
    """The text of a heading, paragraph or cell, formatting dropped."""
    inline = _Inline()
    inline.add(node.children)
    return "".join(span.text for span in inline.spans())


def image_block(node: SyntaxTreeNode) -> ImageBlock | None:
    """An image node as a block, or None if the page model refuses its source.

    Relative paths and unknown schemes cannot be fetched by a renderer, so
    such an image is left out instead of failing the whole artifact.
    """
    title = node.attrs.get("title")
    caption = shorten(str(title), _MAX_IMAGE_TEXT) if title else None
    try:
        return ImageBlock(
            src=str(node.attrs["src"]),
            alt=shorten(node.content, _MAX_IMAGE_TEXT),
            caption=caption,
        )
    except ValidationError:
        return None


def node_blocks(node: SyntaxTreeNode) -> list[Block]:
    """The blocks for one top-level node; none for thematic breaks and the like."""
    build = _BUILDERS.get(node.type)
    return build(node) if build is not None else []


def heading_blocks(node: SyntaxTreeNode) -> list[HeadingBlock]:
    """A heading as a `HeadingBlock`; an empty `#` line gives nothing."""
    text = plain_text(node)
    if not text:
        return []
    level = min(int(node.tag.removeprefix("h")), _MAX_HEADING_LEVEL)
    return [HeadingBlock(level=level, text=text)]


def paragraph_blocks(node: SyntaxTreeNode) -> list[Block]:
    """A paragraph's text as a `ParagraphBlock`, followed by its images."""
    images: list[ImageBlock] = []
    inline = _Inline(images=images)
    inline.add(node.children)
    spans = inline.spans()
    head: list[Block] = [ParagraphBlock(spans=spans)] if spans else []
    return head + list(images)


def _list_items(node: SyntaxTreeNode) -> list[ListItem]:
    return [_list_item(item) for item in node.children]


def _list_item(node: SyntaxTreeNode) -> ListItem:
    inline = _Inline()
    items: list[ListItem] = []
    for child in node.children:
        if child.type in _LISTS:
            # The page model nests one kind of list, so a numbered list
            # inside bullets keeps its entries but not its numbers.
            items.extend(_list_items(child))
        else:
            inline.line_break()
            _flatten(child, inline)
    return ListItem(spans=inline.spans(), items=items)


def _flatten(node: SyntaxTreeNode, inline: _Inline) -> None:
    """Add any block node's text to `inline`, a line per paragraph or code block."""
    if node.type == "inline":
        inline.line_break()
        inline.add(node.children)
    elif node.type in ("fence", "code_block"):
        inline.line_break()
        inline.runs.append((node.content.rstrip("\n"), _Style(code=True)))
    else:
        for child in node.children:
            _flatten(child, inline)


def _table_block(node: SyntaxTreeNode) -> TableBlock:
    header: list[str] = []
    rows: list[list[str]] = []
    for section in node.children:
        for row in section.children:
            cells = [plain_text(cell) for cell in row.children]
            if section.type == "thead":
                header = cells
            else:
                rows.append(cells)
    return TableBlock(header=header, rows=rows)


def _quote_block(node: SyntaxTreeNode) -> QuoteBlock:
    """A blockquote; a last line starting with `--` or `—` is its attribution."""
    inline = _Inline()
    children = list(node.children)
    attribution = None
    if children and children[-1].type == "paragraph":
        kept, attribution = _split_attribution(children[-1].children[0])
        for child in children[:-1]:
            _flatten(child, inline)
        inline.line_break()
        inline.add(kept)
    else:
        for child in children:
            _flatten(child, inline)
    return QuoteBlock(spans=inline.spans(), attribution=attribution)


def _split_attribution(
    inline: SyntaxTreeNode,
) -> tuple[Sequence[SyntaxTreeNode], str | None]:
    """The inline nodes before an attribution line, and the attribution if any."""
    nodes = inline.children
    breaks = [i for i, n in enumerate(nodes) if n.type in ("softbreak", "hardbreak")]
    start = breaks[-1] + 1 if breaks else 0
    last_line = _Inline()
    last_line.add(nodes[start:])
    match = _ATTRIBUTION.match("".join(span.text for span in last_line.spans()))
    if match is None:
        return nodes, None
    return nodes[: max(start - 1, 0)], match["who"].strip()


def _code_block(node: SyntaxTreeNode) -> CodeBlock:
    words = node.info.split()
    language = words[0] if words and len(words[0]) <= _MAX_LANGUAGE else None
    return CodeBlock(code=node.content.removesuffix("\n"), language=language)


def _list_block(node: SyntaxTreeNode) -> ListBlock:
    return ListBlock(ordered=node.type == "ordered_list", items=_list_items(node))


_BUILDERS: dict[str, Callable[[SyntaxTreeNode], list[Block]]] = {
    "heading": lambda node: list(heading_blocks(node)),
    "paragraph": paragraph_blocks,
    "bullet_list": lambda node: [_list_block(node)],
    "ordered_list": lambda node: [_list_block(node)],
    "table": lambda node: [_table_block(node)],
    "blockquote": lambda node: [_quote_block(node)],
    "fence": lambda node: [_code_block(node)],
    "code_block": lambda node: [_code_block(node)],
}
