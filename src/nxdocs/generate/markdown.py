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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from pydantic import ValidationError

from nxdocs.generate.error_summary import describe
from nxdocs.generate.errors import GenerationError
from nxdocs.generate.interface import GeneratedArtifact, GenerationRequest
from nxdocs.generate.markdown_blocks import heading_blocks, node_blocks, paragraph_blocks
from nxdocs.generate.naming import artifact_name, document_title
from nxdocs.pages import Block, Document, DocumentType, Page, ParagraphBlock, TitleBlock
from nxdocs.pages.model import MAX_PAGES

_PAGE_BLOCKS = 100  # `Page.blocks` max_length
_SUBTITLE_LIMIT = 1000  # `TitleBlock.subtitle` max_length
_NOTES = re.compile(r"^notes:[ \t]*", re.IGNORECASE)
_LINE_ENDINGS = re.compile(r"\r\n?")

Section = list[SyntaxTreeNode]


class MarkdownGenerator:
    """Lays out `request.content` (Markdown) as pages, following the module's conventions."""

    def generate(self, request: GenerationRequest) -> GeneratedArtifact:
        """Parse the content into a validated document, or raise `GENERATION_FAILED`."""
        if request.content is None or not request.content.strip():
            raise _failed("The Markdown content is empty.")
        source = _LINE_ENDINGS.sub("\n", request.content)
        pages = _pages(source, request.type)
        if not any(page.blocks for page in pages):
            raise _failed("The Markdown content has nothing that can be shown on a page.")
        if len(pages) > MAX_PAGES:
            raise _failed(
                f"The Markdown content makes too many pages ({len(pages)}, at most {MAX_PAGES})."
            )
        name = artifact_name(request.name, request.prompt, pages)
        document = Document(type=request.type, title=document_title(name), pages=pages)
        return GeneratedArtifact(document=document, name=name, metadata={"generator": "markdown"})


def _failed(message: str) -> GenerationError:
    return GenerationError("GENERATION_FAILED", message)


def _parser(kind: DocumentType) -> MarkdownIt:
    # html off: raw HTML in client content is shown as text, never passed on.
    parser = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    if kind == "presentation":
        parser.disable("lheading")
    return parser


def _pages(source: str, kind: DocumentType) -> list[Page]:
    parser = _parser(kind)
    if kind == "presentation":
        source = _detach_notes(source, parser)
    nodes = SyntaxTreeNode(parser.parse(source)).children
    lines = source.split("\n")
    label = "slide" if kind == "presentation" else "section"
    pages: list[Page] = []
    for index, section in enumerate(_sections(nodes, kind)):
        try:
            pages.extend(_section_pages(section, kind, lines, first=index == 0))
        except ValidationError as exc:
            raise _failed(f"In {label} {index + 1}: {describe(exc)}.") from None
    return pages


def _detach_notes(source: str, parser: MarkdownIt) -> str:
    """`source` with a blank line before every `Notes:` line outside code.

    Without it, `Notes:` right under a list item or paragraph would be read
    as a continuation of that text (CommonMark's "lazy" lines) and shown.
    """
    lines = source.split("\n")
    in_code: set[int] = set()
    for node in SyntaxTreeNode(parser.parse(source)).walk():
        if node.type in ("fence", "code_block") and node.map:
            in_code.update(range(*node.map))
    detached: list[str] = []
    for number, line in enumerate(lines):
        if number not in in_code and _NOTES.match(line) and detached and detached[-1].strip():
            detached.append("")
        detached.append(line)
    return "\n".join(detached)


def _sections(nodes: Sequence[SyntaxTreeNode], kind: DocumentType) -> list[Section]:
    if kind == "document":
        return _split_before(nodes, _heading_of({"h1"}))
    if any(node.type == "hr" for node in nodes):
        return _split_on_breaks(nodes)
    h1_positions = [i for i, node in enumerate(nodes) if _is_heading(node, {"h1"})]
    levels = {"h1", "h2"} if h1_positions in ([], [0]) else {"h1"}
    return _split_before(nodes, _heading_of(levels))


def _is_heading(node: SyntaxTreeNode, tags: set[str]) -> bool:
    return node.type == "heading" and node.tag in tags


def _heading_of(tags: set[str]) -> Callable[[SyntaxTreeNode], bool]:
    return lambda node: _is_heading(node, tags)


def _split_on_breaks(nodes: Sequence[SyntaxTreeNode]) -> list[Section]:
    sections: list[Section] = [[]]
    for node in nodes:
        if node.type == "hr":
            sections.append([])
        else:
            sections[-1].append(node)
    return sections


def _split_before(
    nodes: Sequence[SyntaxTreeNode], starts: Callable[[SyntaxTreeNode], bool]
) -> list[Section]:
    sections: list[Section] = [[]]
    for node in nodes:
        if starts(node) and sections[-1]:
            sections.append([])
        sections[-1].append(node)
    return sections


def _section_pages(
    section: Section, kind: DocumentType, lines: list[str], *, first: bool
) -> list[Page]:
    """The page (or, for a long document section, pages) for one section.

    An empty section, e.g. between two adjacent breaks, gives no page.
    """
    if kind == "document":
        blocks = _document_blocks(section, first=first)
        chunks = [blocks[i : i + _PAGE_BLOCKS] for i in range(0, len(blocks), _PAGE_BLOCKS)]
        return [Page(blocks=chunk) for chunk in chunks]
    body, notes = _split_notes(section, lines)
    title = _title_slide(body)
    blocks = [title] if title is not None else _blocks(body)
    return [Page(blocks=blocks, notes=notes)] if blocks or notes else []


def _blocks(nodes: Sequence[SyntaxTreeNode]) -> list[Block]:
    return [block for node in nodes for block in node_blocks(node)]


def _document_blocks(section: Section, *, first: bool) -> list[Block]:
    if first and section and _is_heading(section[0], {"h1"}):
        opening = heading_blocks(section[0])
        title: list[Block] = [TitleBlock(text=block.text) for block in opening]
        return title + _blocks(section[1:])
    return _blocks(section)


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
