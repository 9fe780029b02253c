"""The outline generator: a deterministic skeleton from the prompt, no model.

It is what a server without a language model offers for prompt-only
requests: a title page, pages for the topics found in the prompt and a
closing page, with placeholder bullets and speaker notes to fill in. It gives
exactly `page_count` pages (5 when not asked): one page is only the title;
two are the title and one page for all topics; from three on, the last is the
summary. Topics beyond the pages available share pages; pages beyond the
topics become sub-pages ("X: key points", "X: details", ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nxdocs.generate.errors import GenerationError
from nxdocs.generate.interface import (
    Checkpoint,
    GeneratedArtifact,
    GenerationRequest,
    no_checkpoint,
)
from nxdocs.generate.naming import artifact_name, document_title, shorten
from nxdocs.generate.outline_topics import PromptOutline, capitalized, read_prompt
from nxdocs.pages import (
    Block,
    Document,
    DocumentType,
    HeadingBlock,
    ListBlock,
    ListItem,
    Page,
    ParagraphBlock,
    Span,
    TitleBlock,
)
from nxdocs.pages.model import MAX_PAGES

DEFAULT_PAGE_COUNT = 5
_SHOWN_TOPICS = 6  # topics named on one page before "and N more"
_FACETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Overview", ("What {t} is", "Why {t} matters now", "What this part covers")),
    ("Key points", ("The main idea behind {t}", "What to remember", "Common misunderstandings")),
    ("Details", ("How {t} works in practice", "Figures and facts to add", "Sources to cite")),
    ("Examples", ("A concrete case of {t}", "What went well", "What we learned")),
    ("Challenges", ("Risks around {t}", "Constraints and trade-offs", "How to address them")),
    ("Opportunities", ("Where {t} can lead", "Quick wins", "Longer-term bets")),
)


@dataclass(frozen=True)
class _Slot:
    """One content page: its heading, the topics it covers and, for a sub-page, its facet."""

    heading: str
    topics: tuple[str, ...]
    facet: int | None = None


class OutlineGenerator:
    """Builds an outline of exactly `page_count` pages from the prompt alone."""

    def generate(
        self, request: GenerationRequest, checkpoint: Checkpoint = no_checkpoint
    ) -> GeneratedArtifact:
        """The outline document, or `GENERATION_FAILED` for a missing prompt or bad count.

        Made at once from the prompt's words: the only checkpoint is the start."""
        checkpoint()
        if request.prompt is None or not request.prompt.strip():
            raise GenerationError("GENERATION_FAILED", "An outline needs a prompt.")
        count = DEFAULT_PAGE_COUNT if request.page_count is None else request.page_count
        if not 1 <= count <= MAX_PAGES:
            raise GenerationError(
                "GENERATION_FAILED", f"page_count must be between 1 and {MAX_PAGES}."
            )
        outline = read_prompt(request.prompt)
        pages = _pages(outline, count, request.type)
        name = artifact_name(request.name, request.prompt, pages)
        document = Document(type=request.type, title=document_title(name), pages=pages)
        return GeneratedArtifact(
            document=document, name=name, metadata={"generator": "outline", "model": "none"}
        )


def _pages(outline: PromptOutline, count: int, kind: DocumentType) -> list[Page]:
    pages = [_title_page(outline, kind)]
    if count == 1:
        return pages
    slots = _plan(outline.topics, count - 1 if count == 2 else count - 2)
    pages.extend(_content_page(slot, outline.title, kind) for slot in slots)
    if count >= 3:
        pages.append(_closing_page(outline, kind))
    return pages


def _shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal whole numbers, larger ones first."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _plan(topics: Sequence[str], slots: int) -> list[_Slot]:
    """Exactly `slots` content pages for `topics`, merging or expanding them."""
    if len(topics) >= slots:
        groups: list[tuple[str, ...]] = []
        start = 0
        for size in _shares(len(topics), slots):
            groups.append(tuple(topics[start : start + size]))
            start += size
        return [_Slot(heading=capitalized(_join(group)), topics=group) for group in groups]
    return [
        _sub_page(topic, part, parts)
        for topic, parts in zip(topics, _shares(slots, len(topics)), strict=True)
        for part in range(parts)
    ]


def _sub_page(topic: str, part: int, parts: int) -> _Slot:
    if parts == 1:
        return _Slot(heading=capitalized(topic), topics=(topic,), facet=0)
    facet = part % len(_FACETS)
    label = _FACETS[facet][0].lower()
    if part >= len(_FACETS):
        label = f"{label} ({part // len(_FACETS) + 1})"
    return _Slot(heading=capitalized(f"{topic}: {label}"), topics=(topic,), facet=facet)


def _join(topics: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C', or the first few and how many more."""
    if len(topics) == 1:
        return topics[0]
    shown = list(topics[:_SHOWN_TOPICS])
    rest = len(topics) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _items(texts: Sequence[str]) -> ListBlock:
    return ListBlock(items=[ListItem(spans=[Span(text=text)]) for text in texts])


def _paragraph(text: str) -> ParagraphBlock:
    return ParagraphBlock(spans=[Span(text=text)])


def _title_page(outline: PromptOutline, kind: DocumentType) -> Page:
    only_title = [topic.casefold() for topic in outline.topics] == [outline.title.casefold()]
    covers = None if only_title else _join(outline.topics)
    if kind == "presentation":
        subtitle = shorten(f"Covering {covers}", 300) if covers else None
        blocks: list[Block] = [TitleBlock(text=outline.title, subtitle=subtitle)]
    else:
        blocks = [TitleBlock(text=outline.title)]
        if covers:
            blocks.append(_paragraph(f"This document covers {covers}."))
    notes = f"Welcome the audience and introduce {outline.title}."
    return Page(blocks=blocks, notes=notes)


def _content_page(slot: _Slot, title: str, kind: DocumentType) -> Page:
    if slot.facet is None:
        bullets = [capitalized(topic) for topic in slot.topics[:_SHOWN_TOPICS]]
        if len(slot.topics) > _SHOWN_TOPICS:
            bullets.append(f"And {len(slot.topics) - _SHOWN_TOPICS} more")
        notes = f"Walk through {slot.heading}, one point at a time, and link each to {title}."
    else:
        bullets = [line.format(t=slot.topics[0]) for line in _FACETS[slot.facet][1]]
        notes = f"Talk about {slot.heading}. Cover: {'; '.join(bullets)}."
    blocks: list[Block] = [HeadingBlock(level=1, text=slot.heading)]
    if kind == "document":
        blocks.append(_paragraph(f"This section is about {slot.heading}."))
    blocks.append(_items(bullets))
    return Page(blocks=blocks, notes=notes)


def _closing_page(outline: PromptOutline, kind: DocumentType) -> Page:
    heading = "Summary and next steps"
    bullets = [f"Recap: {_join(outline.topics)}", "Decisions to take", "Next steps and owners"]
    blocks: list[Block] = [HeadingBlock(level=1, text=heading)]
    if kind == "document":
        blocks.append(_paragraph(f"What to remember about {outline.title}, and what comes next."))
    blocks.append(_items(bullets))
    notes = f"Sum up {outline.title}, agree on next steps and invite questions."
    return Page(blocks=blocks, notes=notes)
