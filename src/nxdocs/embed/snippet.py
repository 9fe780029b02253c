"""The `<iframe>` a client pastes into its own page to show a viewer link."""

from __future__ import annotations

from html import escape

from nxdocs.pages import DocumentType
from nxdocs.render.text import clean_text

# A 16:9 slide at 960 px plus the page bar; a document sheet at a readable width.
_SIZES = {"presentation": (960, 600), "document": (800, 1000)}


def iframe_html(url: str, title: str, kind: DocumentType) -> str:
    """A ready-to-paste iframe of `url`; `title` (the artifact's name, untrusted) is
    escaped for the attribute, and shrinks with a narrow page (`max-width: 100%`)."""
    width, height = _SIZES[kind]
    return (
        f'<iframe src="{escape(url)}" title="{escape(clean_text(title))}" '
        f'width="{width}" height="{height}" style="border: 0; max-width: 100%;" '
        'loading="lazy" referrerpolicy="no-referrer"></iframe>'
    )
