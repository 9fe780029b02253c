"""choose_generator and the naming rules every generator shares."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nxdocs.generate import (
    GenerationRequest,
    LlmGenerator,
    MarkdownGenerator,
    OutlineGenerator,
    choose_generator,
)
from nxdocs.generate.naming import shorten


def test_content_means_markdown() -> None:
    request = GenerationRequest(type="document", content="# Hi")
    assert isinstance(choose_generator(request, None), MarkdownGenerator)


def test_content_wins_over_prompt(make_llm: Callable[..., LlmGenerator]) -> None:
    request = GenerationRequest(type="document", content="# Hi", prompt="Something else")
    assert isinstance(choose_generator(request, make_llm()), MarkdownGenerator)


def test_prompt_uses_the_model_when_configured(make_llm: Callable[..., LlmGenerator]) -> None:
    llm = make_llm()
    request = GenerationRequest(type="presentation", prompt="Coffee")
    assert choose_generator(request, llm) is llm


@pytest.mark.parametrize("content", [None, "  \n"])
def test_prompt_without_model_gets_an_outline(content: str | None) -> None:
    request = GenerationRequest(type="presentation", prompt="Coffee", content=content)
    assert isinstance(choose_generator(request, None), OutlineGenerator)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Short   and\nsweet ", "Short and sweet"),
        ("word " * 30, "word " * 15 + "word…"),
        ("x" * 100, "x" * 79 + "…"),
    ],
)
def test_shorten(text: str, expected: str) -> None:
    assert shorten(text) == expected
    assert len(shorten(text)) <= 80
