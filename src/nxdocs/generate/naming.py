"""Names and titles derived from text, shared by every generator."""

from __future__ import annotations

from collections.abc import Sequence

from nxdocs.pages import HeadingBlock, Page, ParagraphBlock, TitleBlock

NAME_LIMIT = 80
TITLE_LIMIT = 500  # `Document.title` max_length
_ELLIPSIS = "…"


def shorten(text: str, limit: int = NAME_LIMIT) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - len(_ELLIPSIS)]
    # If the cut splits a word, drop the piece, unless that loses most of the text.
    space = cut.rfind(" ")
    if flat[len(cut)] != " " and space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + _ELLIPSIS


def first_heading(pages: Sequence[Page]) -> str | None:
    """The text of the first non-blank title or heading block, if any."""
    for page in pages:
        for block in page.blocks:
            if isinstance(block, TitleBlock | HeadingBlock) and block.text.strip():
                return block.text
    return None


def first_paragraph(pages: Sequence[Page]) -> str | None:
    """The text of the first non-blank paragraph, if any."""
    for page in pages:
        for block in page.blocks:
            if isinstance(block, ParagraphBlock):
                text = "".join(span.text for span in block.spans)
                if text.strip():
                    return text
    return None


def artifact_name(name: str | None, prompt: str | None, pages: Sequence[Page]) -> str:
    """The artifact's name: the one asked for, else taken from the content.

    The order is: the client's `name`, the first title or heading, the first
    words of the prompt, the first words of the first paragraph, and finally a
    fixed placeholder.
    """
    if name is not None and name.strip():
        return name.strip()
    for candidate in (first_heading(pages), prompt, first_paragraph(pages)):
        if candidate is not None and candidate.strip():
            return shorten(candidate)
    return "Untitled"


def document_title(name: str) -> str:
    """`name` within the page model's bound on a document title."""
    return shorten(name, TITLE_LIMIT)
