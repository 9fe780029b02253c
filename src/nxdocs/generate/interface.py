"""What a generator is asked for, what it hands back, and the port it implements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from nxdocs.pages import Document, DocumentType


@dataclass(frozen=True)
class GenerationRequest:
    """An artifact request as the generators see it.

    `content` is Markdown written by the client; `prompt` is free text that a
    generator must expand into pages. `ai_instruction` is the brand's guidance.
    `variation` of `variations` says which of the request's variations this is
    (see `nxdocs.generate.variations`); 1 of 1 when it asked for one.
    """

    type: DocumentType
    prompt: str | None = None
    content: str | None = None
    name: str | None = None
    page_count: int | None = None
    ai_instruction: str | None = None
    variation: int = 1
    variations: int = 1


@dataclass(frozen=True)
class GeneratedArtifact:
    """A finished generation: the pages, the artifact's name and how it was made.

    `metadata` records the generator (and model, if any) so that an artifact
    can later be traced to what produced it.
    """

    document: Document
    name: str
    metadata: dict[str, str]


Checkpoint = Callable[[], None]
"""Called by a generator between pages (and between calls to a model): raising
from it is the caller's way to stop the generation (a cancelled job); the
exception propagates as it is."""


def no_checkpoint() -> None:
    """The checkpoint when the caller has none."""


class Generator(Protocol):
    """The port the artifact job talks to; every generator implements it.

    A generator fails only with `nxdocs.generate.errors.GenerationError` (or its
    retryable subclass), so the job turns any failure into a public error code.
    """

    def generate(
        self, request: GenerationRequest, checkpoint: Checkpoint = no_checkpoint
    ) -> GeneratedArtifact:
        """Turn the request into a validated document, or raise `GenerationError`;
        `checkpoint()` is called between pages."""
        ...
