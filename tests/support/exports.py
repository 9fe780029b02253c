"""Exports seen from outside: sample Markdown, a served system, and independent file readers.

The sample content is Markdown a client would send (`content`), shaped like the
renderer tests' samples (`tests/render/samples.py`): a 10-slide presentation
and a 6-page document in which every block type appears. The readers open the
exported files with libraries nxdocs does not render with (pypdf, python-pptx,
Pillow + zipfile, html.parser), so a test checks what a client would see.
"""

from __future__ import annotations

import base64
import io
import math
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from PIL import Image
from pptx import Presentation
from pypdf import PdfReader

from nxdocs.api.app import create_app
from nxdocs.db.engine import read_only
from nxdocs.db.schema import exports, jobs
from nxdocs.jobs.runner import WorkerThread
from nxdocs.system import System
from tests.support.contract import check_response
from tests.support.server import serving
from tests.support.waiting import wait_until

FORMATS = ("pdf", "pptx", "png", "html")
HOSTED_FIELDS = (
    "id",
    "object",
    "artifact_id",
    "format",
    "status",
    "content",
    "content_type",
    "download_url",
    "expires_at",
    "file_name",
    "pages_exported",
    "error",
    "created_at",
    "updated_at",
)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "png": "application/zip",
    "html": "text/html; charset=utf-8",
}
EXTENSIONS = {"pdf": "pdf", "pptx": "pptx", "png": "zip", "html": "html"}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NOT_FOUND = {"error": {"code": "NOT_FOUND", "message": "The requested resource was not found."}}
DAY_SECONDS = 86_400
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


# --- independent readers --------------------------------------------------------------


def squash(text: str) -> str:
    return " ".join(text.split())


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text, as pypdf extracts it, whitespace squashed."""
    reader = PdfReader(io.BytesIO(data))
    return [squash(page.extract_text()) for page in reader.pages]


@dataclass(frozen=True)
class Slide:
    title: str | None
    paragraphs: list[tuple[int, str]]
    notes: str | None
    text: str


def pptx_slides(data: bytes) -> list[Slide]:
    """Each slide's title placeholder, every text paragraph with its level, and its notes."""
    slides = []
    for slide in Presentation(io.BytesIO(data)).slides:
        title = slide.shapes.title
        title_id = None if title is None else title.shape_id
        paragraphs = [
            (paragraph.level, paragraph.text)
            for shape in slide.shapes
            if shape.has_text_frame and shape.shape_id != title_id
            for paragraph in shape.text_frame.paragraphs
            if paragraph.text
        ]
        texts = [
            shape.text_frame.text
            for shape in slide.shapes
            if shape.has_text_frame and shape.text_frame.text
        ]
        for shape in slide.shapes:
            if shape.has_table:
                texts.extend(cell.text for row in shape.table.rows for cell in row.cells)
        notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else None
        slides.append(
            Slide(
                title=None if title is None else title.text_frame.text,
                paragraphs=paragraphs,
                notes=notes or None,
                text=squash(" ".join(texts)),
            )
        )
    return slides


def png_pages(data: bytes) -> dict[str, tuple[int, int]]:
    """The archive's entries in order, each checked to be a PNG, with its pixel size."""
    sizes = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            with Image.open(io.BytesIO(archive.read(name))) as image:
                image.load()
                assert image.format == "PNG", name
                sizes[name] = image.size
    return sizes


class _HtmlPages(HTMLParser):
    """The visible and the hidden text of each `data-page` element, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.visible: list[list[str]] = []
        self.hidden: list[list[str]] = []
        self._stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "data-page" in attributes:
            assert attributes["data-page"] == str(len(self.visible) + 1)
            self.visible.append([])
            self.hidden.append([])
        if tag in {"img", "meta", "br", "hr", "link"}:
            return
        inherited = bool(self._stack) and self._stack[-1][1]
        self._stack.append((tag, inherited or "hidden" in attributes))

    def handle_endtag(self, tag: str) -> None:
        assert self._stack.pop()[0] == tag, f"</{tag}> closes another element"

    def handle_data(self, data: str) -> None:
        if not self.visible or any(tag in {"style", "script"} for tag, _ in self._stack):
            return
        hidden = bool(self._stack) and self._stack[-1][1]
        (self.hidden if hidden else self.visible)[-1].append(data)


@dataclass(frozen=True)
class HtmlPage:
    text: str
    hidden: str


def html_pages(html: str) -> list[HtmlPage]:
    reader = _HtmlPages()
    reader.feed(html)
    reader.close()
    return [
        HtmlPage(squash(" ".join(visible)), squash(" ".join(hidden)))
        for visible, hidden in zip(reader.visible, reader.hidden, strict=True)
    ]


def in_order(text: str, phrases: list[str]) -> bool:
    """Every phrase occurs in `text`, each after the one before."""
    position = 0
    for phrase in phrases:
        found = text.find(phrase, position)
        if found < 0:
            return False
        position = found + len(phrase)
    return True


# --- a served system and its callers ---------------------------------------------------


def timestamp_ms(text: str) -> int:
    assert TIMESTAMP.fullmatch(text), text
    parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return round(parsed.timestamp() * 1000)


def contract_client(**kwargs: Any) -> httpx.Client:
    """An httpx client whose every response goes through the contract hook."""
    return httpx.Client(event_hooks={"response": [check_response]}, timeout=60, **kwargs)


@dataclass
class Caller:
    """One owner talking to the API with their own key."""

    http: httpx.Client
    owner_id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, headers=self.auth, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers=self.auth, **kwargs)

    def ok(self, path: str) -> dict[str, Any]:
        response = self.get(path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def artifact(self, sample: Sample | dict[str, Any], *, wait: bool = True) -> dict[str, Any]:
        """Create an artifact (sync when `wait`, else async) and return its body."""
        body = sample.request() if isinstance(sample, Sample) else sample
        response = self.post("/v1/artifacts" if wait else "/v1/artifacts/async", json=body)
        assert response.status_code == (201 if wait else 202), response.text
        created: dict[str, Any] = response.json()
        if wait:
            assert created["status"] == "ready", created
        return created

    def export(self, artifact_id: str, fmt: str, **fields: Any) -> dict[str, Any]:
        """`POST /v1/exports` (sync); the finished export."""
        response = self.post(
            "/v1/exports", json={"artifact_id": artifact_id, "format": fmt, **fields}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def export_async(self, artifact_id: str, fmt: str, **fields: Any) -> dict[str, Any]:
        response = self.post(
            "/v1/exports/async", json={"artifact_id": artifact_id, "format": fmt, **fields}
        )
        assert response.status_code == 202, response.text
        created: dict[str, Any] = response.json()
        return created

    def finished_job(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        def finished() -> dict[str, Any] | None:
            job = self.ok(f"/v1/jobs/{job_id}")
            return job if job["status"] != "processing" else None

        job = wait_until(finished, timeout=timeout)
        assert job is not None
        return job


@dataclass
class ExportApi:
    """A served `System` with the real handlers, and a contract-checked client."""

    system: System
    base_url: str
    http: httpx.Client

    def caller(self, name: str = "test") -> Caller:
        created = self.system.keys.create(name, new_owner=True)
        return Caller(self.http, created.owner_id, created.secret)

    @property
    def files(self) -> Path:
        return self.system.settings.data_dir / "files"

    def export_files(self, export_id: str) -> list[Path]:
        """Every file (hidden ones too) under the export's directory of the blob store."""
        folder = self.files / "exports" / export_id
        return sorted(path for path in folder.rglob("*") if path.is_file())

    def count(self, table: sa.Table) -> int:
        with read_only(self.system.engine).connect() as connection:
            query = sa.select(sa.func.count()).select_from(table)
            return int(connection.execute(query).scalar_one())

    def counts(self) -> tuple[int, int]:
        """(export rows, job rows)."""
        return self.count(exports), self.count(jobs)

    def job_row(self, job_id: str) -> dict[str, Any]:
        with read_only(self.system.engine).connect() as connection:
            row = connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()
        return dict(row._mapping)

    @contextmanager
    def worker(self) -> Iterator[None]:
        """A worker thread for this system, stopped (gracefully) when the block ends."""
        thread = WorkerThread(self.system.worker())
        thread.start()
        try:
            yield
        finally:
            thread.stop()


MakeApi = Callable[..., ExportApi]
"""`make_api(**overrides)`: the export tests' fixture that serves a system (conftest)."""


@contextmanager
def export_api(system: System, *, embedded_worker: bool = True) -> Iterator[ExportApi]:
    """Serve `system` on the port its settings name, so its download links point here."""
    app = create_app(system, embedded_worker=embedded_worker)
    with (
        serving(app, system.settings.port) as base_url,
        contract_client(base_url=base_url) as http,
    ):
        yield ExportApi(system, base_url, http)


# --- the export object ------------------------------------------------------------------


def assert_hosted_export(body: dict[str, Any], status: str, *, base_url: str = "") -> None:
    """Every hosted field, hosted ones first and in the reference's order, nullable ones
    present as null; `job_id` is nxdocs's one addition, and `google_slides_presentation_id`
    appears on google-slides exports only."""
    assert list(body)[: len(HOSTED_FIELDS)] == list(HOSTED_FIELDS), list(body)
    extra = {"job_id"} | (
        {"google_slides_presentation_id"} if body["format"] == "google-slides" else set()
    )
    assert set(body) == set(HOSTED_FIELDS) | extra, sorted(body)
    assert body["object"] == "export"
    assert re.fullmatch(r"exp_[a-z0-9]+", body["id"]), body["id"]
    assert re.fullmatch(r"doc_[a-z0-9]+", body["artifact_id"]), body["artifact_id"]
    assert re.fullmatch(r"job_[a-z0-9]+", body["job_id"]), body["job_id"]
    assert body["status"] == status, body
    assert timestamp_ms(body["created_at"]) <= timestamp_ms(body["updated_at"])
    fmt = body["format"]
    if status == "completed":
        assert body["error"] is None
        assert body["content_type"] == CONTENT_TYPES[fmt]
        assert body["download_url"].startswith(f"{base_url}/v1/files/{body['id']}/"), body
        assert timestamp_ms(body["expires_at"]) > timestamp_ms(body["updated_at"])
        assert body["file_name"].endswith(f".{EXTENSIONS[fmt]}"), body["file_name"]
        assert isinstance(body["pages_exported"], int)
        assert body["pages_exported"] >= 1
        assert (body["content"] is not None) == (fmt == "html")
        return
    for field in ("content", "download_url", "expires_at"):
        assert body[field] is None, (field, body)
    if status == "processing":
        for field in ("content_type", "file_name", "pages_exported", "error"):
            assert body[field] is None, (field, body)
    else:
        assert set(body["error"]) == {"code", "message"}, body
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", body["error"]["code"])
        assert body["error"]["message"]
