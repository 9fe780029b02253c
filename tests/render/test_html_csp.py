"""The html export draws itself under the Content-Security-Policy it is downloaded with.

No browser runs here, so the check reads the rendered file the way a CSP
would judge it: what it loads, and from where. Everything the sample deck and
document need (every block type, images fetched and embedded, a link) must be
inline or `data:`, which the policy allows; nothing may need what it forbids
(scripts, remote loads, frames, forms).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from nxdocs.api.files import HTML_CONTENT_SECURITY_POLICY

FORBIDDEN_TAGS = {
    "script", "link", "iframe", "frame", "object", "embed", "base", "form",
    "video", "audio", "source", "track", "applet", "portal",
}  # fmt: skip
LOADING_ATTRIBUTES = {"src", "srcset", "poster", "data", "background", "action", "formaction"}
_URL = re.compile(r"url\(\s*['\"]?([^'\")\s]*)", re.IGNORECASE)


class Loads(HTMLParser):
    """What a page asks the browser to load or run."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.sources: list[str] = []
        self.handlers: list[str] = []
        self.styles: list[str] = []
        self.style_attributes = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(name)
            if name in LOADING_ATTRIBUTES:
                self.sources.append(value or "")
            if name == "style":
                self.style_attributes += 1
                self.styles.append(value or "")
            if tag == "meta" and name == "http-equiv":
                self.handlers.append(f"meta http-equiv={value}")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def directives() -> dict[str, list[str]]:
    parts = [part.split() for part in HTML_CONTENT_SECURITY_POLICY.split(";")]
    return {words[0]: words[1:] for words in parts if words}


@pytest.mark.parametrize("sample", ["presentation_html", "document_html"])
def test_the_html_export_needs_nothing_its_csp_forbids(
    sample: str, request: pytest.FixtureRequest
) -> None:
    html: str = request.getfixturevalue(sample)
    loads = Loads()
    loads.feed(html)
    policy = directives()

    assert loads.tags.isdisjoint(FORBIDDEN_TAGS), loads.tags & FORBIDDEN_TAGS
    assert loads.handlers == []
    # Images are embedded: every load is a data: URI, which img-src allows.
    assert loads.sources, "the samples have images"
    assert all(source.startswith("data:image/") for source in loads.sources)
    assert policy["img-src"] == ["data:"]
    # The theme is an inline <style> (and crowded slides a style attribute):
    # 'unsafe-inline' styles are what it needs, and all it needs.
    assert "style" in loads.tags
    assert policy["style-src"] == ["'unsafe-inline'"]
    css = "\n".join(loads.styles)
    assert "@import" not in css
    assert all(url.startswith("data:") for url in _URL.findall(css)), _URL.findall(css)
    assert "expression(" not in css.lower()
    assert policy["default-src"] == ["'none'"]
