"""Sample documents and images for the renderer tests.

`presentation()` is a 10-slide deck and `document()` a 6-page document;
every block type appears in both. Images are made with Pillow in memory and
`fake_loader` stands in for the network, so nothing here leaves the process.
"""

from __future__ import annotations

import base64
import io

from PIL import Image

from nxdocs.pages.model import (
    CodeBlock,
    Document,
    HeadingBlock,
    ImageBlock,
    ListBlock,
    ListItem,
    Page,
    ParagraphBlock,
    QuoteBlock,
    Span,
    TableBlock,
    TitleBlock,
)

GOOD_IMAGE_URL = "https://images.example/chart.png"
BROKEN_IMAGE_URL = "https://images.example/missing.png"
BROKEN_IMAGE_ALT = "Revenue chart that could not be loaded"
PNG_DPI = 24


def png_bytes(size: tuple[int, int] = (160, 90), color: str = "#2a9d8f") -> bytes:
    """A small PNG: a coloured rectangle with a darker band, so it is not flat."""
    image = Image.new("RGB", size, color)
    image.paste((20, 40, 80), (0, size[1] // 2, size[0], size[1] // 2 + size[1] // 6))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def png_data_uri(size: tuple[int, int] = (160, 90), color: str = "#2a9d8f") -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(size, color)).decode()


def fake_loader(src: str) -> tuple[bytes, str] | None:
    """An image loader that serves one known URL and fails every other."""
    return (png_bytes((120, 120), "#e76f51"), "image/png") if src == GOOD_IMAGE_URL else None


def _text(
    text: str, *, bold: bool = False, italic: bool = False, code: bool = False, href: str = ""
) -> Span:
    return Span(text=text, bold=bold, italic=italic, code=code, href=href or None)


def _heading(text: str, level: int = 1) -> HeadingBlock:
    return HeadingBlock(text=text, level=level)


def _paragraph(text: str) -> ParagraphBlock:
    return ParagraphBlock(spans=[Span(text=text)])


NESTED_ITEMS = [
    ListItem(
        spans=[_text("Growth in "), _text("every", bold=True), _text(" region")],
        items=[
            ListItem(
                spans=[_text("Europe up 12%")],
                items=[ListItem(spans=[_text("Nordics led the way")])],
            ),
            ListItem(spans=[_text("Americas up 8%")]),
        ],
    ),
    ListItem(spans=[_text("Costs held flat")]),
]

TABLE = TableBlock(
    header=["Region", "Q1", "Q2"],
    rows=[["Europe", "1.2M", "1.4M"], ["Americas", "2.0M", "2.1M"], ["Asia", "0.9M", "1.1M"]],
)

QUOTE = QuoteBlock(
    spans=[_text("The best way to predict the future is to "), _text("invent it", italic=True)],
    attribution="Alan Kay",
)

CODE = CodeBlock(code='def forecast(q):\n    return q * 1.1  # "rough"', language="python")


def presentation() -> Document:
    return Document(type="presentation", title="Quarterly Review", pages=_presentation_pages())


def document() -> Document:
    return Document(type="document", title="Annual Report", pages=_document_pages())


def _presentation_pages() -> list[Page]:
    return [
        Page(blocks=[TitleBlock(text="Quarterly Review", subtitle="Results and plans for Q3")]),
        Page(
            blocks=[
                _heading("Highlights"),
                ParagraphBlock(
                    spans=[
                        _text("We shipped "),
                        _text("three", bold=True),
                        _text(" releases, "),
                        _text("on time", italic=True),
                        _text(", using "),
                        _text("nxdocs", code=True),
                        _text(". Details at "),
                        _text("our site", href="https://example.com/q3"),
                        _text(" and "),
                        _text("not this", href="javascript:alert(1)"),
                        _text("."),
                    ]
                ),
            ],
            notes="Mention the release dates before moving on.",
        ),
        Page(blocks=[_heading("Regional Growth"), ListBlock(items=NESTED_ITEMS)]),
        Page(
            blocks=[
                _heading("Next Steps"),
                ListBlock(
                    ordered=True,
                    items=[
                        ListItem(
                            spans=[_text("Hire two engineers")],
                            items=[ListItem(spans=[_text("One for rendering")])],
                        ),
                        ListItem(spans=[_text("Open the Berlin office")]),
                    ],
                ),
            ]
        ),
        Page(blocks=[_heading("Revenue by Region"), TABLE]),
        Page(
            blocks=[
                _heading("Customer Growth"),
                ImageBlock(src=png_data_uri(), alt="Growth chart", caption="Customers per month"),
            ]
        ),
        Page(blocks=[_heading("Our Motto"), QUOTE], notes="Pause after the quote."),
        Page(blocks=[_heading("The Forecast Model"), CODE]),
        Page(
            blocks=[
                _heading("Remote Images"),
                ImageBlock(src=GOOD_IMAGE_URL, alt="Loaded from the network"),
                ImageBlock(src=BROKEN_IMAGE_URL, alt=BROKEN_IMAGE_ALT),
            ]
        ),
        Page(
            blocks=[_heading("Thank You"), _paragraph("Questions are welcome.")],
            notes="Open the floor for questions.",
        ),
    ]


def _document_pages() -> list[Page]:
    return [
        Page(
            blocks=[
                TitleBlock(text="Annual Report", subtitle="Fiscal year 2025"),
                _paragraph("This report summarises the year for the board."),
                _heading("Scope", 2),
                _paragraph("It covers all regions and product lines."),
            ]
        ),
        Page(
            blocks=[
                _heading("Market Overview"),
                _paragraph("Demand grew in every segment we serve."),
                _heading("Segments", 3),
                ListBlock(items=NESTED_ITEMS),
                _heading("Notes on method", 4),
                _paragraph("Figures are unaudited."),
            ]
        ),
        Page(blocks=[_heading("Financial Results"), TABLE, _paragraph("All figures in EUR.")]),
        Page(
            blocks=[
                _heading("Product Pictures"),
                ImageBlock(src=png_data_uri((320, 180)), alt="Product photo", caption="Model X"),
                ImageBlock(src=BROKEN_IMAGE_URL, alt=BROKEN_IMAGE_ALT),
            ]
        ),
        Page(blocks=[_heading("Leadership Voice"), QUOTE]),
        Page(
            blocks=[
                _heading("Appendix: Model"),
                CODE,
                ListBlock(ordered=True, items=[ListItem(spans=[_text("Run the model")])]),
            ],
            notes="Appendix notes stay out of the printed document.",
        ),
    ]


def page_titles(document: Document) -> list[str]:
    """The text of each page's first title or heading block."""
    titles = []
    for page in document.pages:
        first = page.blocks[0]
        assert isinstance(first, TitleBlock | HeadingBlock)
        titles.append(first.text)
    return titles
