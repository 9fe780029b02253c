"""OutlineGenerator and the prompt reading behind it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nxdocs.generate import GenerationRequest, OutlineGenerator
from nxdocs.generate.errors import GenerationError
from nxdocs.generate.outline_topics import read_prompt
from nxdocs.pages import (
    Document,
    DocumentType,
    HeadingBlock,
    ListBlock,
    Page,
    ParagraphBlock,
    TitleBlock,
)

PROMPT = "Quarterly review for ACME: revenue growth, hiring plans and the product roadmap."


def outline(
    prompt: str = PROMPT, page_count: int | None = None, kind: DocumentType = "presentation"
) -> Document:
    request = GenerationRequest(type=kind, prompt=prompt, page_count=page_count)
    return OutlineGenerator().generate(request).document


def headings(pages: list[Page]) -> list[str]:
    return [
        block.text
        for page in pages
        for block in page.blocks
        if isinstance(block, TitleBlock | HeadingBlock)
    ]


def test_default_is_title_topics_and_summary() -> None:
    document = outline()
    assert headings(document.pages) == [
        "Quarterly review for ACME",
        "Revenue growth",
        "Hiring plans",
        "The product roadmap",
        "Summary and next steps",
    ]
    assert document.type == "presentation"


def test_metadata_and_name() -> None:
    artifact = OutlineGenerator().generate(GenerationRequest(type="presentation", prompt=PROMPT))
    assert artifact.metadata == {"generator": "outline", "model": "none"}
    assert artifact.name == "Quarterly review for ACME"


def test_one_page_is_only_the_title() -> None:
    [page] = outline(page_count=1).pages
    assert [type(block) for block in page.blocks] == [TitleBlock]


def test_two_pages_put_every_topic_on_one() -> None:
    title, topics = outline(page_count=2).pages
    assert isinstance(title.blocks[0], TitleBlock)
    assert headings([topics]) == ["Revenue growth, hiring plans and the product roadmap"]


def test_more_pages_than_topics_make_sub_pages() -> None:
    names = headings(outline(page_count=9).pages)
    assert len(names) == 9
    assert names[1:4] == [
        "Revenue growth: overview",
        "Revenue growth: key points",
        "Revenue growth: details",
    ]
    assert names[-1] == "Summary and next steps"


def test_fewer_pages_than_topics_merge_them() -> None:
    prompt = "Onboarding: tools, accounts, security, payroll, benefits, team rituals, goals"
    names = headings(outline(prompt, page_count=4).pages)
    assert names[1:3] == [
        "Tools, accounts, security and payroll",
        "Benefits, team rituals and goals",
    ]


@pytest.mark.parametrize("page_count", [1, 2, 3, 5, 8, 50])
def test_exact_page_count(page_count: int) -> None:
    assert len(outline(page_count=page_count).pages) == page_count


@pytest.mark.parametrize("kind", ["presentation", "document"])
def test_content_pages_have_heading_bullets_and_notes(kind: DocumentType) -> None:
    for page in outline(page_count=6, kind=kind).pages[1:]:
        assert isinstance(page.blocks[0], HeadingBlock)
        lists = [block for block in page.blocks if isinstance(block, ListBlock)]
        assert lists
        assert lists[0].items
        assert page.notes


def test_documents_add_paragraphs() -> None:
    document = outline(kind="document")
    assert document.type == "document"
    assert all(
        any(isinstance(block, ParagraphBlock) for block in page.blocks) for page in document.pages
    )


@pytest.mark.parametrize("prompt", [None, "", "  \n "])
def test_missing_prompt_fails(prompt: str | None) -> None:
    with pytest.raises(GenerationError) as caught:
        OutlineGenerator().generate(GenerationRequest(type="presentation", prompt=prompt))
    assert caught.value.code == "GENERATION_FAILED"


@pytest.mark.parametrize("page_count", [0, -1, 201])
def test_impossible_page_count_fails(page_count: int) -> None:
    with pytest.raises(GenerationError) as caught:
        outline(page_count=page_count)
    assert caught.value.code == "GENERATION_FAILED"


def test_same_prompt_same_outline() -> None:
    assert outline(page_count=7) == outline(page_count=7)


@pytest.mark.parametrize(
    ("prompt", "title", "topics"),
    [
        (
            "Team offsite\n1. Agenda\n2) Travel\n- Budget",
            "Team offsite",
            ("Agenda", "Travel", "Budget"),
        ),
        (
            "Make a short presentation about the history of coffee, its cultivation and trade",
            "The history of coffee",
            ("the history of coffee", "its cultivation", "trade"),
        ),
        (
            "Pitch: problem; solution; market & team",
            "Pitch",
            ("problem", "solution", "market", "team"),
        ),
        ("Kubernetes basics. Pods. Services, deployments.", "Kubernetes basics", None),
        ("!!!", "Untitled", ("Untitled",)),
    ],
)
def test_reading_a_prompt(prompt: str, title: str, topics: tuple[str, ...] | None) -> None:
    read = read_prompt(prompt)
    assert read.title == title
    if topics is not None:
        assert read.topics == topics


def test_repeated_topics_count_once() -> None:
    assert read_prompt("Plan: budget, Budget and budget").topics == ("budget",)


@settings(deadline=None, database=None)
@given(
    prompt=st.text(min_size=1).filter(lambda text: text.strip()),
    page_count=st.integers(min_value=1, max_value=50),
    kind=st.sampled_from(["presentation", "document"]),
)
def test_any_prompt_gives_exactly_page_count_valid_pages(
    prompt: str, page_count: int, kind: DocumentType
) -> None:
    document = outline(prompt, page_count=page_count, kind=kind)
    assert len(document.pages) == page_count
    assert all(page.blocks for page in document.pages)
    assert Document.model_validate(document.model_dump()) == document
