"""Sample content for export tests: Markdown a client would send, and what its pages show.

The samples are shaped like the renderer tests' samples (`tests/render/samples.py`):
a 10-slide presentation and a 6-page document in which every block type appears.
`expected_pixels` gives a page's size at a DPI, for the PNG exports.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any

from PIL import Image

PNG_DPI = 50
"""The export tests' DPI: low, for speed; expected pixel sizes are computed from it."""


def _png_data_uri() -> str:
    image = Image.new("RGB", (160, 90), "#2a9d8f")
    image.paste((20, 40, 80), (0, 45, 160, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@dataclass(frozen=True)
class SamplePage:
    """What one page must show: its title, a phrase of its body, its speaker notes."""

    title: str
    body: str
    notes: str | None = None


@dataclass(frozen=True)
class Sample:
    kind: str
    name: str
    markdown: str
    pages: tuple[SamplePage, ...]

    def request(self) -> dict[str, Any]:
        return {"content": self.markdown, "type": self.kind, "name": self.name}


_IMAGE = _png_data_uri()

PRESENTATION = Sample(
    "presentation",
    "Quarterly Review",
    "\n\n---\n\n".join(
        [
            "# Quarterly Review\n\nResults and plans for Q3",
            "## Highlights\n\nWe shipped **three** releases, *on time*.\n"
            "Notes: Mention the release dates.",
            "## Regional Growth\n\n- Growth in **every** region\n  - Europe up 12%\n"
            "    - Nordics led the way\n  - Americas up 8%\n- Costs held flat",
            "## Next Steps\n\n1. Hire two engineers\n2. Open the Berlin office",
            "## Revenue by Region\n\n| Region | Q1 | Q2 |\n|---|---|---|\n"
            "| Europe | 1.2M | 1.4M |\n| Americas | 2.0M | 2.1M |",
            f"## Customer Growth\n\nCustomers per month.\n\n![Growth chart]({_IMAGE})",
            "## Our Motto\n\n> Predict the future by inventing it.\n> -- Alan Kay\n"
            "Notes: Pause after the quote.",
            "## The Forecast Model\n\n```python\ndef forecast(q):\n    return q * 1.1\n```",
            "## Risks\n\n- Supply chain delays\n- A tight hiring market",
            "## Thank You\n\nQuestions are welcome.\nNotes: Open the floor for questions.",
        ]
    )
    + "\n",
    (
        SamplePage("Quarterly Review", "Results and plans for Q3"),
        SamplePage("Highlights", "releases", "Mention the release dates."),
        SamplePage("Regional Growth", "Nordics led the way"),
        SamplePage("Next Steps", "Open the Berlin office"),
        SamplePage("Revenue by Region", "Americas"),
        SamplePage("Customer Growth", "Customers per month."),
        SamplePage("Our Motto", "inventing it", "Pause after the quote."),
        SamplePage("The Forecast Model", "forecast"),
        SamplePage("Risks", "Supply chain delays"),
        SamplePage("Thank You", "Questions are welcome.", "Open the floor for questions."),
    ),
)
REGIONAL_BULLETS = [
    (0, "Growth in every region"),
    (1, "Europe up 12%"),
    (2, "Nordics led the way"),
    (1, "Americas up 8%"),
    (0, "Costs held flat"),
]

DOCUMENT = Sample(
    "document",
    "Annual Report",
    "\n\n".join(
        [
            "# Annual Report\n\nThis report summarises the year for the board.\n\n"
            "## Scope\n\nIt covers all regions and product lines.",
            "# Market Overview\n\nDemand grew in every segment we serve.\n\n"
            "- Growth in every region\n  - Europe up 12%\n- Costs held flat",
            "# Financial Results\n\n| Region | Q1 | Q2 |\n|---|---|---|\n"
            "| Europe | 1.2M | 1.4M |\n\nAll figures in EUR.",
            f"# Product Pictures\n\nThe new model.\n\n![Product photo]({_IMAGE})",
            "# Leadership Voice\n\n> Predict the future by inventing it.\n> -- Alan Kay",
            "# Appendix\n\n```python\ndef forecast(q):\n    return q * 1.1\n```\n\n"
            "1. Run the model",
        ]
    )
    + "\n",
    (
        SamplePage("Annual Report", "summarises the year"),
        SamplePage("Market Overview", "Demand grew"),
        SamplePage("Financial Results", "All figures in EUR."),
        SamplePage("Product Pictures", "The new model."),
        SamplePage("Leadership Voice", "inventing it"),
        SamplePage("Appendix", "Run the model"),
    ),
)
SAMPLES = {"presentation": PRESENTATION, "document": DOCUMENT}

SLIDE_POINTS = (720.0, 405.0)  # 254mm x 142.875mm
PAGE_POINTS = {"A4": (210 * 72 / 25.4, 297 * 72 / 25.4), "Letter": (612.0, 792.0)}


def expected_pixels(kind: str, dpi: int, page_size: str = "A4") -> tuple[int, int]:
    """A page's size in pixels at `dpi`: slides are 16:9, document pages the paper size."""
    width, height = SLIDE_POINTS if kind == "presentation" else PAGE_POINTS[page_size]
    return math.ceil(width * dpi / 72), math.ceil(height * dpi / 72)
