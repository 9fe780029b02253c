"""HTML export, read back with the standard library's html.parser."""

from __future__ import annotations

from html.parser import HTMLParser

from nxdocs.pages.model import Document, Page, ParagraphBlock, Span
from nxdocs.render import render_html
from nxdocs.render.themes import Theme

from .samples import BROKEN_IMAGE_ALT, fake_loader, page_titles


class _Page:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.hidden_text: list[str] = []


class _Reader(HTMLParser):
    """Collects tags, attributes and the visible text of each `data-page` element."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.pages: list[_Page] = []
        self._stack: list[str] = []
        self._hidden_depth: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if "data-page" in attributes:
            assert attributes["data-page"] == str(len(self.pages) + 1)
            self.pages.append(_Page())
        if tag not in {"img", "meta"}:
            self._stack.append(tag)
            if "hidden" in attributes and self._hidden_depth is None:
                self._hidden_depth = len(self._stack)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden_depth == len(self._stack):
            self._hidden_depth = None
        assert self._stack.pop() == tag, "elements are closed in order"

    def handle_data(self, data: str) -> None:
        if self.pages and "style" not in self._stack:
            page = self.pages[-1]
            (page.text if self._hidden_depth is None else page.hidden_text).append(data)


def _read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def _visible(reader: _Reader, index: int) -> str:
    return " ".join(" ".join(reader.pages[index].text).split())


def test_every_page_is_an_element_with_its_text(
    presentation: Document, presentation_html: str
) -> None:
    reader = _read(presentation_html)
    assert len(reader.pages) == 10
    for index, title in enumerate(page_titles(presentation)):
        assert title in _visible(reader, index)
    assert "Nordics led the way" in _visible(reader, 2)
    assert "Region Q1 Q2 Europe 1.2M 1.4M" in _visible(reader, 4)
    assert "return q * 1.1" in _visible(reader, 7)


def test_speaker_notes_are_hidden(presentation_html: str) -> None:
    reader = _read(presentation_html)
    assert "Mention the release dates" not in _visible(reader, 1)
    assert "Mention the release dates" in "".join(reader.pages[1].hidden_text)


def test_nested_lists_and_inline_formatting(presentation_html: str) -> None:
    tags = [tag for tag, _ in _read(presentation_html).tags]
    for tag in ("ul", "ol", "li", "strong", "em", "code", "table", "th", "blockquote", "pre"):
        assert tag in tags
    assert "<ul>\n<li>Growth in <strong>every</strong> region<ul>" in presentation_html


def test_no_scripts_and_only_safe_links(presentation_html: str) -> None:
    tags = _read(presentation_html).tags
    assert all(tag != "script" for tag, _ in tags)
    hrefs = [attributes.get("href") for tag, attributes in tags if tag == "a"]
    assert hrefs == ["https://example.com/q3"]
    assert "javascript:" not in presentation_html


def test_images_are_embedded_and_failures_show_the_alt_text(presentation_html: str) -> None:
    reader = _read(presentation_html)
    sources = [attributes["src"] or "" for tag, attributes in reader.tags if tag == "img"]
    assert len(sources) == 2
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert "images.example" not in presentation_html
    assert BROKEN_IMAGE_ALT in _visible(reader, 8)


def test_content_is_escaped(theme: Theme) -> None:
    hostile = "<script>alert('x')</script> & \"quotes\""
    document = Document(
        type="document",
        title="<b>title</b>",
        pages=[Page(blocks=[ParagraphBlock(spans=[Span(text=hostile, href='x" onclick="y')])])],
    )
    html = render_html(document, theme, image_loader=fake_loader)
    reader = _read(html)
    assert all(tag not in {"script", "b"} for tag, _ in reader.tags)
    assert all("onclick" not in attributes for _, attributes in reader.tags)
    assert hostile in _visible(reader, 0)
    assert "&lt;script&gt;" in html


def test_text_loses_characters_no_format_can_carry(theme: Theme) -> None:
    document = Document(
        type="presentation",
        title="t",
        pages=[Page(blocks=[ParagraphBlock(spans=[Span(text="a\x00b\x1bc\td")])])],
    )
    html = render_html(document, theme, image_loader=fake_loader)
    assert "abc\td" in html
    assert "\x00" not in html
    assert "\x1b" not in html


def test_document_pages_each_start_a_page(document: Document, document_html: str) -> None:
    reader = _read(document_html)
    assert len(reader.pages) == len(document.pages) == 6
    assert ".page + .page { break-before: page; }" in document_html
    assert "size: A4;" in document_html
