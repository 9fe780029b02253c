"""MarkdownGenerator: slides, document flow, block mapping and failures."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nxdocs.generate import GenerationRequest, MarkdownGenerator
from nxdocs.generate.errors import GenerationError
from nxdocs.pages import (
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

DECK = """\
# Coffee in 12 slides
From bean to cup

---

## Why coffee
Coffee is **loved**, *widely traded* and [well studied](https://example.org/coffee).

---

## Growing regions
- Africa
  - Ethiopia
  - Kenya
- Americas
  - Colombia

---

## Roasting steps
1. Dry
2. Brown
3. Develop

---

## Prices
| Grade | USD/kg |
|-------|-------:|
| A     | 9.50   |
| B     | 7.25   |

---

## The plant
![Coffee cherries](https://example.org/cherry.png "Ripe cherries")

---

> Coffee is a language in itself.
> -- Jackie Chan

---

```python
def brew(grams: int) -> str:
    return "espresso" if grams < 10 else "filter"
```

---

## Tasting
Use `cupping` spoons.
Notes:
Pass the cups around.
Ask for the first impression.

---

## Text only
Just a paragraph.

---

## Mixed
Intro text.

- one
- two

---

# Thank you
Questions?
"""


def generate(content: str, kind: DocumentType = "presentation", **fields: Any) -> list[Page]:
    request = GenerationRequest(type=kind, content=content, **fields)
    return MarkdownGenerator().generate(request).document.pages


@pytest.fixture(scope="module")
def deck() -> list[Page]:
    return generate(DECK)


def test_twelve_slides_make_twelve_pages(deck: list[Page]) -> None:
    assert len(deck) == 12


def test_title_slides(deck: list[Page]) -> None:
    assert deck[0].blocks == [TitleBlock(text="Coffee in 12 slides", subtitle="From bean to cup")]
    assert deck[11].blocks == [TitleBlock(text="Thank you", subtitle="Questions?")]


def test_paragraph_spans_keep_formatting_and_links(deck: list[Page]) -> None:
    heading, paragraph = deck[1].blocks
    assert heading == HeadingBlock(level=2, text="Why coffee")
    assert paragraph == ParagraphBlock(
        spans=[
            Span(text="Coffee is "),
            Span(text="loved", bold=True),
            Span(text=", "),
            Span(text="widely traded", italic=True),
            Span(text=" and "),
            Span(text="well studied", href="https://example.org/coffee"),
            Span(text="."),
        ]
    )


def item(label: str, *children: ListItem) -> ListItem:
    return ListItem(spans=[Span(text=label)], items=list(children))


def test_nested_bullets(deck: list[Page]) -> None:
    assert deck[2].blocks[1] == ListBlock(
        ordered=False,
        items=[
            item("Africa", item("Ethiopia"), item("Kenya")),
            item("Americas", item("Colombia")),
        ],
    )


def test_numbered_list(deck: list[Page]) -> None:
    assert deck[3].blocks[1] == ListBlock(
        ordered=True, items=[item("Dry"), item("Brown"), item("Develop")]
    )


def test_table(deck: list[Page]) -> None:
    assert deck[4].blocks[1] == TableBlock(
        header=["Grade", "USD/kg"], rows=[["A", "9.50"], ["B", "7.25"]]
    )


def test_image(deck: list[Page]) -> None:
    assert deck[5].blocks[1] == ImageBlock(
        src="https://example.org/cherry.png", alt="Coffee cherries", caption="Ripe cherries"
    )


def test_quote_with_attribution(deck: list[Page]) -> None:
    assert deck[6].blocks == [
        QuoteBlock(spans=[Span(text="Coffee is a language in itself.")], attribution="Jackie Chan")
    ]


def test_code(deck: list[Page]) -> None:
    [code] = deck[7].blocks
    assert code == CodeBlock(
        language="python",
        code='def brew(grams: int) -> str:\n    return "espresso" if grams < 10 else "filter"',
    )


def test_notes_leave_the_slide(deck: list[Page]) -> None:
    tasting = deck[8]
    assert tasting.notes == "Pass the cups around.\nAsk for the first impression."
    assert tasting.blocks == [
        HeadingBlock(level=2, text="Tasting"),
        ParagraphBlock(
            spans=[Span(text="Use "), Span(text="cupping", code=True), Span(text=" spoons.")]
        ),
    ]
    assert [page.notes for i, page in enumerate(deck) if i != 8] == [None] * 11


def test_heading_with_content_is_not_a_title(deck: list[Page]) -> None:
    assert [type(block) for block in deck[10].blocks] == [HeadingBlock, ParagraphBlock, ListBlock]


def test_name_and_title_come_from_the_first_heading() -> None:
    artifact = MarkdownGenerator().generate(GenerationRequest(type="presentation", content=DECK))
    assert artifact.name == "Coffee in 12 slides"
    assert artifact.document.title == "Coffee in 12 slides"
    assert artifact.metadata == {"generator": "markdown"}


def test_requested_name_wins() -> None:
    request = GenerationRequest(type="presentation", content=DECK, name="Beans")
    artifact = MarkdownGenerator().generate(request)
    assert artifact.name == "Beans"
    assert artifact.document.title == "Beans"


def test_name_falls_back_to_first_words_of_a_paragraph() -> None:
    long = "word " * 40
    artifact = MarkdownGenerator().generate(GenerationRequest(type="document", content=long))
    assert artifact.name.startswith("word word")
    assert len(artifact.name) <= 80


def test_page_count_is_ignored() -> None:
    assert len(generate(DECK, page_count=3)) == 12


def test_same_content_same_document() -> None:
    assert generate(DECK) == generate(DECK)


def test_break_right_under_text_splits_slides() -> None:
    pages = generate("## One\nText\n---\n## Two\nMore")
    assert [page.blocks[0] for page in pages] == [
        HeadingBlock(level=2, text="One"),
        HeadingBlock(level=2, text="Two"),
    ]


def test_without_breaks_slides_split_on_headings() -> None:
    pages = generate("# A\nText a\n# B\nText b\n## B.1\nStill B")
    assert len(pages) == 2
    assert pages[1].blocks[-2] == HeadingBlock(level=2, text="B.1")


def test_leading_title_then_second_level_sections() -> None:
    pages = generate("# Deck\n\n## One\n- a\n\n## Two\n- b\n\n## Three\n- c")
    assert len(pages) == 4
    assert pages[0].blocks == [TitleBlock(text="Deck")]
    assert pages[3].blocks[0] == HeadingBlock(level=2, text="Three")


def test_notes_right_after_a_list() -> None:
    [page] = generate("## Points\n- a\n- b\nnotes: say both\n- out loud")
    assert page.notes == "say both\n- out loud"
    assert page.blocks[1] == ListBlock(items=[item("a"), item("b")])


def test_notes_inside_code_stay_code() -> None:
    [page] = generate("```\nNotes: not a note\n```")
    assert page.notes is None
    assert page.blocks == [CodeBlock(code="Notes: not a note")]


def test_images_with_unusable_sources_are_skipped() -> None:
    content = (
        "![local](images/a.png) ![ftp](ftp://example.org/a.png) "
        "![js](javascript:alert(1)) ![ok](https://example.org/b.png)"
    )
    [page] = generate(content)
    assert [block for block in page.blocks if isinstance(block, ImageBlock)] == [
        ImageBlock(src="https://example.org/b.png", alt="ok")
    ]


def test_raw_html_is_text() -> None:
    [page] = generate("<script>alert(1)</script>", kind="document")
    assert page.blocks == [ParagraphBlock(spans=[Span(text="<script>alert(1)</script>")])]


def test_document_keeps_flow_per_top_level_section() -> None:
    content = "# Report\nIntro.\n\nSetext\n------\n\nBody.\n\n---\n\n# Part 1\nA\n\n# Part 2\nB"
    pages = generate(content, kind="document")
    assert len(pages) == 3
    assert pages[0].blocks == [
        TitleBlock(text="Report"),
        ParagraphBlock(spans=[Span(text="Intro.")]),
        HeadingBlock(level=2, text="Setext"),
        ParagraphBlock(spans=[Span(text="Body.")]),
    ]
    assert pages[1].blocks[0] == HeadingBlock(level=1, text="Part 1")


def test_document_without_headings_is_one_page() -> None:
    pages = generate("One.\n\nTwo.\n\nThree.", kind="document")
    assert len(pages) == 1
    assert len(pages[0].blocks) == 3


def test_document_notes_are_ordinary_text() -> None:
    [page] = generate("Notes: this stays", kind="document")
    assert page.notes is None
    assert page.blocks == [ParagraphBlock(spans=[Span(text="Notes: this stays")])]


def test_long_document_section_continues_on_next_page() -> None:
    content = "\n\n".join(f"Paragraph {n}." for n in range(250))
    pages = generate(content, kind="document")
    assert [len(page.blocks) for page in pages] == [100, 100, 50]


@pytest.mark.parametrize("content", ["", "   \n\n", "---\n\n---\n", "![x](images/x.png)"])
def test_nothing_to_show_fails(content: str) -> None:
    with pytest.raises(GenerationError) as caught:
        generate(content)
    assert caught.value.code == "GENERATION_FAILED"


def test_missing_content_fails() -> None:
    with pytest.raises(GenerationError) as caught:
        MarkdownGenerator().generate(GenerationRequest(type="document", prompt="only a prompt"))
    assert caught.value.code == "GENERATION_FAILED"


def test_too_many_slides_fail() -> None:
    content = "\n\n---\n\n".join(f"Slide {n}" for n in range(201))
    with pytest.raises(GenerationError, match="too many pages") as caught:
        generate(content)
    assert caught.value.code == "GENERATION_FAILED"


def test_content_beyond_model_bounds_fails_with_the_slide() -> None:
    content = "Fine\n\n---\n\n## " + "x" * 600
    with pytest.raises(GenerationError) as caught:
        generate(content)
    assert caught.value.code == "GENERATION_FAILED"
    assert "slide 2" in caught.value.message
    assert "x" * 50 not in caught.value.message  # reasons, not the offending input


MARKDOWNISH = st.lists(
    st.sampled_from([*"ab #*_-`>|[]()!:\n1.~", "---\n", "Notes:", "https://x", "\n\n"]),
    max_size=80,
).map("".join)


def outcome(content: str, kind: DocumentType) -> Document | GenerationError:
    try:
        return MarkdownGenerator().generate(GenerationRequest(type=kind, content=content)).document
    except GenerationError as exc:
        return exc


@settings(deadline=None, database=None)
@given(content=MARKDOWNISH, kind=st.sampled_from(["presentation", "document"]))
def test_any_content_gives_a_document_or_generation_failed(
    content: str, kind: DocumentType
) -> None:
    result = outcome(content, kind)
    if isinstance(result, GenerationError):
        assert result.code == "GENERATION_FAILED"
    else:
        assert Document.model_validate(result.model_dump()) == result
