"""Rules for untrusted text that every renderer applies the same way.

Page text may hold characters that no output format can carry (lone
surrogates break UTF-8, most C0 controls are illegal in XML) and links with
any scheme. Renderers pass text through `clean_text` and links through
`safe_href` rather than each deciding for itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nxdocs.pages.model import Span

# XML 1.0 allows tab, newline and carriage return among the C0 controls;
# surrogates cannot be encoded; U+FFFE/U+FFFF are non-characters.
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LINK_SCHEMES = ("http://", "https://", "mailto:")


def clean_text(text: str) -> str:
    """`text` without the characters that HTML, PDF and PPTX cannot carry."""
    return _UNSAFE_CHARS.sub("", text)


def safe_href(href: str | None) -> str | None:
    """`href` when it is an http(s) or mailto link, else None (drawn as plain text)."""
    if href is None:
        return None
    href = clean_text(href).strip()
    return href if href.lower().startswith(_LINK_SCHEMES) else None


def plain_text(spans: Iterable[Span]) -> str:
    """The spans' text without formatting."""
    return "".join(span.text for span in spans)
