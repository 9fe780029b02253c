"""The one page model every generator writes and every renderer reads."""

from nxdocs.pages.model import (
    Block,
    CodeBlock,
    Document,
    DocumentType,
    HeadingBlock,
    ImageBlock,
    ListBlock,
    ListItem,
    Page,
    ParagraphBlock,
    QuoteBlock,
    Span,
    TableBlock,
    TitleBlock,
)

__all__ = [
    "Block",
    "CodeBlock",
    "Document",
    "DocumentType",
    "HeadingBlock",
    "ImageBlock",
    "ListBlock",
    "ListItem",
    "Page",
    "ParagraphBlock",
    "QuoteBlock",
    "Span",
    "TableBlock",
    "TitleBlock",
]
