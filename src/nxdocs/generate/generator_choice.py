"""Which generator serves a request."""

from __future__ import annotations

from nxdocs.generate.interface import GenerationRequest, Generator
from nxdocs.generate.llm import LlmGenerator
from nxdocs.generate.markdown import MarkdownGenerator
from nxdocs.generate.outline import OutlineGenerator


def choose_generator(request: GenerationRequest, llm: LlmGenerator | None) -> Generator:
    """Markdown when there is content, else the language model if configured, else the outline.

    Content wins over a prompt given alongside it: the client wrote the pages
    and wants them as written. Blank content counts as none.
    """
    if request.content is not None and request.content.strip():
        return MarkdownGenerator()
    if llm is not None:
        return llm
    return OutlineGenerator()
