"""The Markdown generator: the client's own content, laid out as pages.

Conventions (deterministic; `page_count` is ignored because the content
decides how many pages there are):

* Presentations. A top-level thematic break (`---`, also `***` or `___`)
  starts a new slide. `---` directly under a line of text is a slide break
  too, not a setext heading: slide authors write it that way (Marp,
  reveal-md), so setext headings are switched off for presentations. Without
  any thematic break, slides split before every `#` heading, and also before
  every `##` heading when the only `#` is a leading title.
* Documents keep their flow: a new page starts before every top-level `#`
  heading (so one page if there is none); a section longer than a page's
  block limit continues on the next page. Thematic breaks are dropped.
* A slide that is only a `#` heading, optionally followed by one paragraph,
  is a title slide: a `TitleBlock` with that paragraph as subtitle. A
  document that opens with a `#` heading opens with a `TitleBlock`. Every
  other heading is a `HeadingBlock`.
* Speaker notes (presentations only): a line starting with `Notes:` at the
  left margin (any case, outside code blocks) begins the notes; that line's
  rest and everything after it up to the end of the slide go, as written,
  into `Page.notes`. No blank line is needed before it.
* Work is bounded: the content is parsed a top-level block at a time
  (`markdown_stream`), and reading stops at the first page past `MAX_PAGES`.
  Inline nesting deeper than markdown-it's `maxNesting` is refused.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.normalize_url import normalizeLink
from markdown_it.rules_block import StateBlock
from markdown_it.tree import SyntaxTreeNode
from pydantic import ValidationError

from nxdocs.generate.error_summary import describe
from nxdocs.generate.errors import GenerationError
from nxdocs.generate.interface import (
    Checkpoint,
    GeneratedArtifact,
    GenerationRequest,
    no_checkpoint,
)
from nxdocs.generate.markdown_blocks import heading_blocks, node_blocks, paragraph_blocks
from nxdocs.generate.markdown_stream import MarkdownTooDeepError, TopLevelBlocks
from nxdocs.generate.naming import artifact_name, document_title
from nxdocs.pages import Block, Document, DocumentType, Page, ParagraphBlock, TitleBlock
from nxdocs.pages.model import MAX_PAGES

_PAGE_BLOCKS = 100  # `Page.blocks` max_length
_SUBTITLE_LIMIT = 1000  # `TitleBlock.subtitle` max_length
_NOTES = re.compile(r"^notes:[ \t]*", re.IGNORECASE)
_LINE_ENDINGS = re.compile(r"\r\n?")
# Every line that markdown-it could read as a top-level thematic break or `#`
# heading matches these (and some others, e.g. inside code, match too).
_BREAK_LINE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$", re.MULTILINE)
_H1_LINE = re.compile(r"^ {0,3}#(?:[ \t]|$)", re.MULTILINE)

Section = list[SyntaxTreeNode]
Splitter = Callable[[Iterable[SyntaxTreeNode]], Iterator[Section]]


class MarkdownGenerator:
    """Lays out `request.content` (Markdown) as pages, following the module's conventions."""

    def generate(
        self, request: GenerationRequest, checkpoint: Checkpoint = no_checkpoint
    ) -> GeneratedArtifact:
        """Parse the content into a validated document, or raise `GENERATION_FAILED`.

        Parsing stops as soon as the content has made more than `MAX_PAGES`
        pages: the rest of a too-long content is never read.
        """
        if request.content is None or not request.content.strip():
            raise _failed("The Markdown content is empty.")
        source = _LINE_ENDINGS.sub("\n", request.content)
        pages = _pages(source, request.type, checkpoint)
        if not any(page.blocks for page in pages):
            raise _failed("The Markdown content has nothing that can be shown on a page.")
        name = artifact_name(request.name, request.prompt, pages)
        document = Document(type=request.type, title=document_title(name), pages=pages)
        return GeneratedArtifact(document=document, name=name, metadata={"generator": "markdown"})


def _failed(message: str) -> GenerationError:
    return GenerationError("GENERATION_FAILED", message)


def _parser(kind: DocumentType, lines: list[str]) -> MarkdownIt:
    # html off: raw HTML in client content is shown as text, never passed on.
    parser = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    parser.normalizeLink = _normalize_link  # type: ignore[method-assign]
    if kind == "presentation":
        parser.disable("lheading")
        first = parser.block.ruler.get_all_rules()[0]
        alt = ["paragraph", "reference", "blockquote", "list"]
        parser.block.ruler.before(first, "nxdocs_notes", _notes_rule(lines), {"alt": alt})
    return parser


_BASE64_DATA_URI = re.compile(r"data:[\w.+-]+/[\w.+-]+;base64,[A-Za-z0-9+/]*=*")


def _normalize_link(url: str) -> str:
    """markdown-it's link normalisation, but a base64 `data:` URI passes as it is.

    Percent-encoding would leave such a URI unchanged (its characters are all
    URL-safe), and mdurl builds its result a character at a time, which costs
    quadratic time on a megabyte image wherever CPython cannot append in place
    (under a tracer, such as coverage).
    """
    if _BASE64_DATA_URI.fullmatch(url):
        return url
    return normalizeLink(url)


def _notes_rule(lines: list[str]) -> Callable[[StateBlock, int, int, bool], bool]:
    """A rule that ends a paragraph, list or quote before a `Notes:` line.

    Without it, `Notes:` right under a list item or paragraph would be read
    as a continuation of that text (CommonMark's "lazy" lines) and shown.
    The line is matched as written, at the left margin; code blocks do not
    ask this rule, so a `Notes:` line in code stays code.
    """

    def ends_before(_state: StateBlock, start: int, _end: int, silent: bool) -> bool:
        return silent and start < len(lines) and _NOTES.match(lines[start]) is not None

    return ends_before


def _pages(source: str, kind: DocumentType, checkpoint: Checkpoint) -> list[Page]:
    env: dict[str, Any] = {}
    pages = _read_pages(source, kind, env, checkpoint)
    if env.get("references"):
        # A link may use a definition written after it: read again knowing them all.
        pages = _read_pages(source, kind, {"references": env["references"]}, checkpoint)
    return pages


def _read_pages(
    source: str, kind: DocumentType, env: MutableMapping[str, Any], checkpoint: Checkpoint
) -> list[Page]:
    """The pages of `source`, or `GENERATION_FAILED` as soon as there are too many."""
    lines = source.split("\n")
    blocks = TopLevelBlocks(_parser(kind, lines), source, env)
    made = _document_pages(blocks) if kind == "document" else _slide_pages(blocks, source, lines)
    pages: list[Page] = []
    try:
        for page in made:
            checkpoint()
            pages.append(page)
            if len(pages) > MAX_PAGES:
                raise _failed(
                    "The Markdown content makes too many pages "
                    f"({MAX_PAGES + 1} or more, at most {MAX_PAGES})."
                )
    except MarkdownTooDeepError as exc:
        raise _failed(str(exc)) from None
    return pages


def _document_pages(nodes: Iterable[SyntaxTreeNode]) -> Iterator[Page]:
    """A document's pages, each handed out as soon as it is full."""
    section = 1
    blocks: list[Block] = []
    try:
        for position, node in enumerate(nodes):
            if position > 0 and _is_heading(node, {"h1"}):
                if blocks:
                    yield Page(blocks=blocks)
                section, blocks = section + 1, []
            if position == 0 and _is_heading(node, {"h1"}):
                blocks = [TitleBlock(text=b.text) for b in heading_blocks(node)]
            else:
                blocks.extend(node_blocks(node))
            while len(blocks) > _PAGE_BLOCKS:
                yield Page(blocks=blocks[:_PAGE_BLOCKS])
                blocks = blocks[_PAGE_BLOCKS:]
        if blocks:
            yield Page(blocks=blocks)
    except ValidationError as exc:
        raise _failed(f"In section {section}: {describe(exc)}.") from None


def _slide_pages(blocks: TopLevelBlocks, source: str, lines: list[str]) -> Iterator[Page]:
    """A presentation's pages, a slide at a time."""
    for index, section in enumerate(_slide_sections(blocks, source)):
        try:
            page = _slide_page(section, lines)
        except ValidationError as exc:
            raise _failed(f"In slide {index + 1}: {describe(exc)}.") from None
        if page is not None:
            yield page


def _slide_sections(blocks: TopLevelBlocks, source: str) -> Iterator[Section]:
    """The slides' nodes, split as the module's conventions say.

    How slides split depends on the whole content (is there any thematic
    break? a `#` heading after the first block?), so nodes are held back
    only until the lines not yet read cannot change the answer.
    """
    choice = _SlideSplit(_last_line(_BREAK_LINE, source), _last_line(_H1_LINE, source))
    nodes = iter(blocks)
    held: list[SyntaxTreeNode] = []
    split: Splitter | None = None
    for node in nodes:
        choice.see(node, first=not held)
        held.append(node)
        split = choice.decided(blocks.reached)
        if split is not None:
            break
    if split is None:
        split = choice.decided(sys.maxsize) or choice.by_headings()  # every line is read
    yield from split(chain(held, nodes))


def _last_line(pattern: re.Pattern[str], source: str) -> int:
    """The number of the last line matching `pattern`, or -1."""
    last = None
    for last in pattern.finditer(source):  # noqa: B007 (only the last one is wanted)
        pass
    return -1 if last is None else source.count("\n", 0, last.start())


@dataclass
class _SlideSplit:
    """Decides how slides split, as soon as the unread lines cannot change it."""

    last_break_line: int
    last_h1_line: int
    has_break: bool = False
    late_h1: bool = False  # a `#` heading that is not the first block

    def see(self, node: SyntaxTreeNode, *, first: bool) -> None:
        self.has_break = self.has_break or node.type == "hr"
        self.late_h1 = self.late_h1 or (not first and _is_heading(node, {"h1"}))

    def decided(self, reached: int) -> Splitter | None:
        """The splitter, given that lines before `reached` are read; None if not known yet."""
        if self.has_break:
            return _split_on_breaks
        if reached <= self.last_break_line or (not self.late_h1 and reached <= self.last_h1_line):
            return None
        return self.by_headings()

    def by_headings(self) -> Splitter:
        """Split before `#`, and also before `##` if the only `#` is a leading title."""
        levels = {"h1"} if self.late_h1 else {"h1", "h2"}
        return lambda nodes: _split_before(nodes, _heading_of(levels))


def _is_heading(node: SyntaxTreeNode, tags: set[str]) -> bool:
    return node.type == "heading" and node.tag in tags


def _heading_of(tags: set[str]) -> Callable[[SyntaxTreeNode], bool]:
    return lambda node: _is_heading(node, tags)


def _split_on_breaks(nodes: Iterable[SyntaxTreeNode]) -> Iterator[Section]:
    section: Section = []
    for node in nodes:
        if node.type == "hr":
            yield section
            section = []
        else:
            section.append(node)
    yield section


def _split_before(
    nodes: Iterable[SyntaxTreeNode], starts: Callable[[SyntaxTreeNode], bool]
) -> Iterator[Section]:
    section: Section = []
    for node in nodes:
        if starts(node) and section:
            yield section
            section = []
        section.append(node)
    yield section


def _slide_page(section: Section, lines: list[str]) -> Page | None:
    """The page for one slide; none for an empty one, e.g. between two adjacent breaks."""
    body, notes = _split_notes(section, lines)
    title = _title_slide(body)
    blocks = [title] if title is not None else _blocks(body)
    return Page(blocks=blocks, notes=notes) if blocks or notes else None


def _blocks(nodes: Sequence[SyntaxTreeNode]) -> list[Block]:
    return [block for node in nodes for block in node_blocks(node)]


def _title_slide(nodes: Section) -> TitleBlock | None:
    """The slide as a title slide, if it is only a `#` heading and a short paragraph."""
    if not nodes or len(nodes) > 2 or not _is_heading(nodes[0], {"h1"}):
        return None
    heading = heading_blocks(nodes[0])
    if not heading:
        return None
    subtitle = None
    if len(nodes) == 2:
        rest = paragraph_blocks(nodes[1]) if nodes[1].type == "paragraph" else []
        if len(rest) != 1 or not isinstance(rest[0], ParagraphBlock):
            return None
        subtitle = "".join(span.text for span in rest[0].spans)
        if len(subtitle) > _SUBTITLE_LIMIT:
            return None
    return TitleBlock(text=heading[0].text, subtitle=subtitle)


def _split_notes(section: Section, lines: list[str]) -> tuple[Section, str | None]:
    """The slide's shown nodes, and its notes as written in the source."""
    for position, node in enumerate(section):
        start = node.map[0] if node.map else None
        if node.type == "paragraph" and start is not None and _NOTES.match(lines[start]):
            end = max(n.map[1] for n in section[position:] if n.map)
            text = _NOTES.sub("", "\n".join(lines[start:end]), count=1).strip()
            return section[:position], text or None
    return section, None
