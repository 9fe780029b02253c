"""MarkdownGenerator's work is bounded: too many pages or too deep nesting stop it early."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt
from markdown_it.common.normalize_url import normalizeLink
from markdown_it.parser_block import ParserBlock
from markdown_it.rules_block import StateBlock

from nxdocs.generate import GenerationRequest, MarkdownGenerator
from nxdocs.generate.errors import GenerationError
from nxdocs.generate.markdown import _normalize_link
from nxdocs.generate.markdown_stream import MarkdownTooDeepError, TopLevelBlocks
from nxdocs.pages import Document, DocumentType, HeadingBlock, Page, Span
from nxdocs.pages.model import MAX_PAGES

TOO_MANY = (
    f"The Markdown content makes too many pages ({MAX_PAGES + 1} or more, at most {MAX_PAGES})."
)
SECTIONS = 5000


def generate(content: str, kind: DocumentType = "presentation") -> list[Page]:
    request = GenerationRequest(type=kind, content=content)
    return MarkdownGenerator().generate(request).document.pages


def refusal(content: str, kind: DocumentType = "presentation") -> GenerationError:
    with pytest.raises(GenerationError) as caught:
        generate(content, kind)
    assert caught.value.code == "GENERATION_FAILED"
    return caught.value


PARAGRAPHS = 10 * SECTIONS
# content, kind, and how many top-level blocks it has
LONG_CONTENTS = {
    "slides split by breaks": (
        "\n\n---\n\n".join(f"## Slide {n}\n\nText {n}." for n in range(SECTIONS)),
        "presentation",
        3 * SECTIONS - 1,
    ),
    "slides split by headings": (
        "\n\n".join(f"# Slide {n}\n\nText {n}." for n in range(SECTIONS)),
        "presentation",
        2 * SECTIONS,
    ),
    "document sections": (
        "\n\n".join(f"# Part {n}\n\nText {n}." for n in range(SECTIONS)),
        "document",
        2 * SECTIONS,
    ),
    "one long document section": (
        "\n\n".join(f"Paragraph {n}." for n in range(PARAGRAPHS)),
        "document",
        PARAGRAPHS,
    ),
}


@pytest.mark.parametrize(("content", "kind", "_"), LONG_CONTENTS.values(), ids=LONG_CONTENTS)
def test_too_many_pages_are_refused(content: str, kind: DocumentType, _: int) -> None:
    assert refusal(content, kind).message == TOO_MANY


@pytest.fixture
def tokenizer_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The start line of every run of markdown-it's real block tokenizer."""
    runs: list[int] = []
    real = ParserBlock.tokenize

    def counted(self: ParserBlock, state: StateBlock, start: int, end: int) -> None:
        runs.append(start)
        real(self, state, start, end)

    monkeypatch.setattr(ParserBlock, "tokenize", counted)
    return runs


@pytest.mark.parametrize(("content", "kind", "blocks"), LONG_CONTENTS.values(), ids=LONG_CONTENTS)
def test_parsing_stops_once_the_limit_is_passed(
    content: str, kind: DocumentType, blocks: int, tokenizer_runs: list[int]
) -> None:
    refusal(content, kind)

    # Read lazily, the tokenizer runs once per top-level block it reads; a
    # whole reading would run it `blocks` times and reach the last line.
    assert len(tokenizer_runs) < blocks // 2
    assert max(tokenizer_runs) < len(content.split("\n")) // 2


def test_a_late_bad_slide_is_never_reached() -> None:
    slides = [f"## Slide {n}" for n in range(SECTIONS)]
    slides[4000] = "## " + "x" * 600  # a full parse would fail here first
    assert refusal("\n\n---\n\n".join(slides)).message == TOO_MANY


def test_top_level_blocks_are_read_only_as_far_as_iterated() -> None:
    source = "\n\n".join(f"# Part {n}\n\nText *{n}*." for n in range(SECTIONS))
    blocks = TopLevelBlocks(MarkdownIt("commonmark"), source)
    nodes = iter(blocks)

    first, second = next(nodes), next(nodes)

    assert (first.type, second.type) == ("heading", "paragraph")
    assert blocks.reached <= 4
    assert len(list(nodes)) == 2 * SECTIONS - 2
    assert blocks.reached == len(source.split("\n"))


def test_a_break_at_the_very_end_still_decides_how_slides_split() -> None:
    # 300 `#` slides, unless a thematic break comes: one does, last of all,
    # so there are two slides and the first has far too many blocks.
    content = "\n\n".join(f"# Slide {n}" for n in range(300)) + "\n\n---\n\nLast"
    assert refusal(content).message.startswith("In slide 1: Page.blocks")


def test_a_break_like_line_in_code_does_not_hold_slides_together() -> None:
    pages = generate("# A\n\n- a\n\n# B\n\n```\n---\n```")
    assert [page.blocks[0] for page in pages] == [
        HeadingBlock(level=1, text="A"),
        HeadingBlock(level=1, text="B"),
    ]


def test_links_may_use_definitions_written_later() -> None:
    [first, _] = generate("See [the site][site].\n\n---\n\n[site]: https://example.org\n\nEnd")
    assert (
        first.blocks[0].model_dump()["spans"][1]
        == Span(text="the site", href="https://example.org").model_dump()
    )


def test_notes_are_kept_as_written() -> None:
    [page] = generate("## Points\n- a\nNotes: first\nNotes: second")
    assert page.notes == "first\nNotes: second"


NESTED = {
    "emphasis": "*" * 10_000 + "x" + "*" * 10_000,
    "strong and emphasis": "***" * 3_000 + "x" + "***" * 3_000,
    "quotes": ">" * 10_000 + " deep",
    "spaced quotes": "> " * 10_000 + "deep",
    "bullets": "- " * 10_000 + "x",
    "numbered": "1. " * 10_000 + "x",
    "indented list": "\n".join("  " * level + "- x" for level in range(400)),
    "links": "[" * 10_000 + "x" + "](https://x.org)" * 10_000,
    "images": "![" * 10_000 + "x" + "](https://x.org/a.png)" * 10_000,
    "code spans": "`" * 10_000,
}


@pytest.mark.parametrize("content", NESTED.values(), ids=NESTED)
@pytest.mark.parametrize("kind", ["presentation", "document"])
def test_deep_nesting_is_a_generation_error_or_a_document(content: str, kind: DocumentType) -> None:
    result = outcome(content, kind)
    if isinstance(result, GenerationError):
        assert result.code == "GENERATION_FAILED"
    else:
        assert isinstance(result, Document)


def outcome(content: str, kind: DocumentType) -> Document | GenerationError:
    """The document, or the generation error; any other exception fails the test."""
    try:
        return MarkdownGenerator().generate(GenerationRequest(type=kind, content=content)).document
    except GenerationError as exc:
        return exc


def test_deep_emphasis_is_refused_with_its_reason() -> None:
    message = refusal("*" * 10_000 + "x" + "*" * 10_000).message
    assert message == "The Markdown content nests more than 20 levels deep."


def test_too_deep_is_a_value_error_with_the_limit() -> None:
    error = MarkdownTooDeepError(20)
    assert isinstance(error, ValueError)
    assert error.limit == 20


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,iVBORw0KGgo+/A==",
        "data:image/svg+xml;base64,PHN2Zz4=",
        "data:text/html,<b>x</b>",
        "https://example.org/a b?q=ü",
    ],
)
def test_link_normalisation_is_markdown_its_own_with_a_fast_path_for_base64_images(
    url: str,
) -> None:
    # The fast path returns what percent-encoding would: base64 is URL-safe.
    assert _normalize_link(url) == normalizeLink(url)
