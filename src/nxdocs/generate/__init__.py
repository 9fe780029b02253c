"""Generators: turn an artifact request into a `nxdocs.pages.Document`.

`MarkdownGenerator` lays out the client's Markdown, `LlmGenerator` asks an
OpenAI-compatible model, `OutlineGenerator` builds a skeleton without one;
`choose_generator` picks between them. All implement the `Generator` port.
`generate_variations` makes the several answers a request may ask for.
"""

from nxdocs.generate.generator_choice import choose_generator
from nxdocs.generate.interface import GeneratedArtifact, GenerationRequest, Generator
from nxdocs.generate.llm import LlmGenerator
from nxdocs.generate.markdown import MarkdownGenerator
from nxdocs.generate.outline import OutlineGenerator
from nxdocs.generate.variations import generate_variations

__all__ = [
    "GeneratedArtifact",
    "GenerationRequest",
    "Generator",
    "LlmGenerator",
    "MarkdownGenerator",
    "OutlineGenerator",
    "choose_generator",
    "generate_variations",
]
