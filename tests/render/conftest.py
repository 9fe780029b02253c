"""Fixtures for the renderer tests: each sample rendered once per session.

Rendering is the slow part, so the sample deck and document are rendered
once and the tests read the results with independent readers (pypdf,
python-pptx, Pillow, html.parser).
"""

from __future__ import annotations

import pytest

from nxdocs.pages.model import Document
from nxdocs.render import get_theme, render_html, render_pdf, render_pptx
from nxdocs.render.themes import Theme

from . import samples
from .samples import fake_loader


@pytest.fixture(scope="session")
def presentation() -> Document:
    return samples.presentation()


@pytest.fixture(scope="session")
def document() -> Document:
    return samples.document()


@pytest.fixture(scope="session")
def theme() -> Theme:
    return get_theme(None)


@pytest.fixture(scope="session")
def presentation_html(presentation: Document, theme: Theme) -> str:
    return render_html(presentation, theme, image_loader=fake_loader)


@pytest.fixture(scope="session")
def document_html(document: Document, theme: Theme) -> str:
    return render_html(document, theme, image_loader=fake_loader)


@pytest.fixture(scope="session")
def presentation_pdf(presentation_html: str) -> bytes:
    return render_pdf(presentation_html)


@pytest.fixture(scope="session")
def document_pdf(document_html: str) -> bytes:
    return render_pdf(document_html)


@pytest.fixture(scope="session")
def presentation_pptx(presentation: Document, theme: Theme) -> bytes:
    return render_pptx(presentation, theme, fake_loader)
