"""Regenerate the golden slide images that `test_golden.py` compares against.

Run from the project root after an intended change to the theme CSS or the
slide layout, look at the new images, then commit them:

    .venv/bin/python tests/render/make_golden.py

It renders `reference_deck()` with the default theme to PDF, rasterises it
at `GOLDEN_DPI` and writes `tests/render/golden/page-001.png` and onwards.
The test imports the same functions, so the deck and the settings cannot
drift apart.
"""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path

from PIL import Image

from nxdocs.pages.model import Document
from nxdocs.render import get_theme, render_html, render_pdf, render_png_zip
from nxdocs.render.themes import Theme

GOLDEN_DIR = Path(__file__).parent / "golden"
GOLDEN_DPI = 36


def _chart_uri() -> str:
    image = Image.new("RGB", (240, 135), "#f4a261")
    image.paste("#264653", (20, 60, 70, 135))
    image.paste("#2a9d8f", (95, 30, 145, 135))
    image.paste("#e76f51", (170, 80, 220, 135))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def reference_deck() -> Document:
    """Three slides: a cover, a list with a quote, a table with a picture."""
    return Document.model_validate(
        {
            "type": "presentation",
            "title": "Golden deck",
            "pages": [
                {"blocks": [{"type": "title", "text": "Golden Deck", "subtitle": "Reference"}]},
                {
                    "blocks": [
                        {"type": "heading", "text": "Agenda"},
                        {
                            "type": "list",
                            "items": [
                                {
                                    "spans": [{"text": "Results"}],
                                    "items": [{"spans": [{"text": "Revenue", "bold": True}]}],
                                },
                                {"spans": [{"text": "Plans for next year"}]},
                            ],
                        },
                        {"type": "quote", "spans": [{"text": "Simple is good."}]},
                    ]
                },
                {
                    "blocks": [
                        {"type": "heading", "text": "Numbers"},
                        {"type": "table", "header": ["Year", "Sales"], "rows": [["2025", "12"]]},
                        {"type": "image", "src": _chart_uri(), "alt": "Chart"},
                    ]
                },
            ],
        }
    )


def render_reference(theme: Theme) -> dict[str, Image.Image]:
    """The reference deck's slides as RGB images, by file name."""
    html = render_html(reference_deck(), theme, image_loader=lambda _src: None)
    archive = render_png_zip(render_pdf(html), GOLDEN_DPI)
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        return {
            name: Image.open(io.BytesIO(zipped.read(name))).convert("RGB")
            for name in zipped.namelist()
        }


def main() -> None:
    GOLDEN_DIR.mkdir(exist_ok=True)
    for name, image in render_reference(get_theme(None)).items():
        image.save(GOLDEN_DIR / name, format="PNG", optimize=True)


if __name__ == "__main__":
    main()
