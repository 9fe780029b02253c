"""What a job stores: the page model made from Markdown, or from a prompt alone (the outline)."""

from __future__ import annotations

from nxdocs.pages import HeadingBlock, ListBlock, ListItem, Page, Span, TitleBlock
from tests.support.api import Caller, ServedApi
from tests.support.artifacts import assert_hosted_artifact

TOPICS = [
    "Goals",
    "Market",
    "Customers",
    "Product",
    "Pricing",
    "Channels",
    "Team",
    "Hiring",
    "Budget",
    "Risks",
    "Timeline",
]


def twelve_slides() -> str:
    """A title slide, then eleven slides of a heading, two bullets and speaker notes."""
    slides = ["# Launch plan\n\nThe 2026 roadmap"]
    for n, topic in enumerate(TOPICS, start=2):
        slides.append(f"## {topic}\n\n- {topic} point {n}a\n- {topic} point {n}b\nNotes: say {n}")
    return "\n\n---\n\n".join(slides) + "\n"


def bullets(*texts: str) -> ListBlock:
    return ListBlock(items=[ListItem(spans=[Span(text=text)]) for text in texts])


def test_markdown_with_twelve_slides_makes_twelve_pages_with_their_blocks(
    api: ServedApi, alice: Caller
) -> None:
    artifact = alice.generated({"content": twelve_slides(), "type": "presentation"})

    assert_hosted_artifact(artifact, "ready")
    assert (artifact["page_count"], artifact["name"]) == (12, "Launch plan")
    assert artifact["generation"] == {"generator": "markdown"}
    document = api.system.artifacts.document(artifact["id"])
    assert document is not None
    assert (document.type, document.title, len(document.pages)) == (
        "presentation",
        "Launch plan",
        12,
    )
    assert document.pages[0] == Page(
        blocks=[TitleBlock(text="Launch plan", subtitle="The 2026 roadmap")]
    )
    for n, (topic, page) in enumerate(zip(TOPICS, document.pages[1:], strict=True), start=2):
        assert page == Page(
            blocks=[
                HeadingBlock(level=2, text=topic),
                bullets(f"{topic} point {n}a", f"{topic} point {n}b"),
            ],
            notes=f"say {n}",
        ), n


def test_a_prompt_alone_gives_an_outline_of_exactly_page_count_pages(
    api: ServedApi, alice: Caller
) -> None:
    prompt = "Quarterly review: revenue, hiring, product roadmap and risks"
    for page_count, kind in ((7, "presentation"), (1, "document"), (50, "presentation")):
        artifact = alice.generated({"prompt": prompt, "page_count": page_count, "type": kind})

        assert_hosted_artifact(artifact, "ready")
        assert (artifact["page_count"], artifact["type"]) == (page_count, kind)
        assert artifact["generation"] == {"generator": "outline", "model": "none"}
        document = api.system.artifacts.document(artifact["id"])
        assert document is not None
        assert (document.type, len(document.pages)) == (kind, page_count)
        assert all(page.blocks for page in document.pages)
        assert document.pages[0].blocks[0] == TitleBlock(
            text="Quarterly review",
            subtitle="Covering revenue, hiring, product roadmap and risks"
            if kind == "presentation"
            else None,
        )


def test_a_prompt_without_page_count_gives_the_default_outline(
    api: ServedApi, alice: Caller
) -> None:
    artifact = alice.generated({"prompt": "Onboarding: tools, people and first week"})

    assert artifact["status"] == "ready"
    document = api.system.artifacts.document(artifact["id"])
    assert document is not None
    assert artifact["page_count"] == len(document.pages) == 5
    headings = [
        block.text
        for page in document.pages
        for block in page.blocks
        if isinstance(block, TitleBlock | HeadingBlock)
    ]
    assert headings[0] == "Onboarding"
    assert {"Tools", "People", "First week"} <= set(headings)
