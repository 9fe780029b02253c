"""Export benchmark: time per format beside LibreOffice, and a worker's memory over many exports.

    .venv/bin/python -m bench.export [--runs 5] [--exports 500] [--skip-libreoffice] [--skip-memory]

Time: a 20-slide presentation built with the page model (`deck()`, the same
every run) is exported to html, pdf, png (150 dpi) and pptx through
`nxdocs.render.render`, in this process: one warm-up, then the median of
`--runs`. Beside it, LibreOffice converts our own PPTX of the deck to PDF
(`soffice --headless --convert-to pdf`, the whole command timed, with a
profile made fresh for this run by one warm-up conversion), median of
`--runs`; the ratio LibreOffice / our PDF time is the figure of merit.

Memory: a real `nxdocs worker` process (concurrency 1) on a fresh SQLite data
dir runs real `export.run` jobs: one ready artifact holding the deck, exports
to PDF enqueued through `ExportStore.create` in batches of `--batch`, each
batch drained before the next. The worker's VmRSS (and VmHWM, its peak) is
read from /proc after every batch; the figure is RSS after `--exports` against
after the first batch.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import sqlalchemy as sa
from weasyprint.text.ffi import harfbuzz_subset

from nxdocs.artifacts.store import NewArtifact
from nxdocs.db.schema import exports
from nxdocs.exports.quota import Quota
from nxdocs.generate import GeneratedArtifact
from nxdocs.jobs.model import Fence
from nxdocs.pages.model import (
    CodeBlock,
    Document,
    HeadingBlock,
    ListBlock,
    ListItem,
    Page,
    ParagraphBlock,
    QuoteBlock,
    Span,
    TableBlock,
    TitleBlock,
)
from nxdocs.render import get_theme, render
from nxdocs.render.exporter import ExportFormat
from nxdocs.settings import Settings
from nxdocs.system import System, build_system

NXDOCS = str(Path(sys.executable).parent / "nxdocs")
FORMATS: tuple[ExportFormat, ...] = ("html", "pdf", "png", "pptx")
LIBREOFFICE_TARGET = 3.0  # LibreOffice PDF time / our PDF time, at least
RSS_GROWTH_TARGET = 0.20  # RSS after --exports over RSS after the first batch, at most
EXPORT_TIMEOUT_SECONDS = 10.0  # per export in a batch, before giving up
SEED_WORKER = "bench-seed"
PAGES = 20


# -- the deck -------------------------------------------------------------------------


def _s(text: str, **style: bool) -> Span:
    return Span(text=text, **style)


def _item(text: str, *children: str) -> ListItem:
    return ListItem(spans=[_s(text)], items=[ListItem(spans=[_s(c)]) for c in children])


def _notes(n: int, topic: str) -> str:
    return (
        f"Slide {n}: {topic}. Open with the headline figure, then walk through each "
        "point in order. Leave a minute for questions; the appendix has the sources."
    )


def _bullets_slide(n: int, topic: str) -> Page:
    return Page(
        blocks=[
            HeadingBlock(level=1, text=f"{topic}"),
            ParagraphBlock(
                spans=[
                    _s("Where we stand on "),
                    _s(topic.lower(), bold=True),
                    _s(" after the second quarter, and what changes "),
                    _s("next", italic=True),
                    _s("."),
                ]
            ),
            ListBlock(
                items=[
                    _item(
                        "Adoption grew in every region",
                        "Europe up 18% quarter on quarter",
                        "North America up 11%",
                    ),
                    _item("Support tickets per customer fell by a third"),
                    _item(
                        "Two risks to watch",
                        "Hiring for the platform team is behind plan",
                        "A large renewal is due in October",
                    ),
                ]
            ),
        ],
        notes=_notes(n, topic),
    )


def _table_slide(n: int) -> Page:
    rows = [
        [region, f"{1200 + 137 * i:,}", f"{8 + i}.{i}%", f"{92 - i}%"]
        for i, region in enumerate(["Europe", "North America", "Asia Pacific", "Latin America"])
    ]
    return Page(
        blocks=[
            HeadingBlock(level=1, text="Results by region"),
            TableBlock(header=["Region", "Accounts", "Growth", "Retention"], rows=rows),
            ParagraphBlock(spans=[_s("Figures are unaudited; see the appendix.", italic=True)]),
        ],
        notes=_notes(n, "results by region"),
    )


def _quote_slide(n: int) -> Page:
    return Page(
        blocks=[
            HeadingBlock(level=2, text="What customers say"),
            QuoteBlock(
                spans=[
                    _s("We replaced three tools with this one, and our reports now go out "),
                    _s("the same day", bold=True),
                    _s(" instead of the same week."),
                ],
                attribution="Head of Operations, a logistics customer",
            ),
        ],
        notes=_notes(n, "customer quote"),
    )


def _code_slide(n: int) -> Page:
    code = (
        "import httpx\n\n"
        "response = httpx.post(\n"
        '    "https://api.example.com/v1/exports",\n'
        '    json={"artifact_id": artifact_id, "format": "pdf"},\n'
        '    headers={"Authorization": f"Bearer {key}"},\n'
        ")\n"
        'print(response.json()["download_url"])'
    )
    return Page(
        blocks=[
            HeadingBlock(level=2, text="Exporting from the API"),
            ParagraphBlock(
                spans=[_s("One call; the "), _s("download_url", code=True), _s(" is signed.")]
            ),
            CodeBlock(code=code, language="python"),
        ],
        notes=_notes(n, "API example"),
    )


def deck() -> Document:
    """A deterministic 20-slide presentation using every kind of text block."""
    topics = [
        "Product adoption",
        "Customer support",
        "Platform reliability",
        "Sales pipeline",
        "Hiring",
        "Security and compliance",
        "Partner channel",
        "Pricing changes",
        "Roadmap for Q3",
        "Roadmap for Q4",
        "Budget",
        "Team health",
        "Open questions",
    ]
    pages = [
        Page(
            blocks=[
                TitleBlock(
                    text="Quarterly Business Review",
                    subtitle="Second quarter, prepared for the board",
                )
            ],
            notes="Welcome everyone; introduce the presenters.",
        ),
        Page(
            blocks=[
                HeadingBlock(level=1, text="Agenda"),
                ListBlock(
                    ordered=True,
                    items=[_item(t) for t in ["Highlights", "Results", "Roadmap", "Budget"]],
                ),
            ],
            notes=_notes(2, "agenda"),
        ),
    ]
    specials: dict[int, Callable[[int], Page]] = {
        5: _table_slide,
        9: _quote_slide,
        13: _code_slide,
        17: _table_slide,
        19: _quote_slide,
    }
    topic = iter(topics)
    for n in range(3, PAGES + 1):
        pages.append(specials[n](n) if n in specials else _bullets_slide(n, next(topic)))
    assert len(pages) == PAGES
    return Document(type="presentation", title="Quarterly Business Review", pages=pages)


def no_images(_src: str) -> tuple[bytes, str] | None:
    """The deck has no images; nothing is fetched."""
    return None


# -- time per format ------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    label: str
    median_s: float
    min_s: float
    max_s: float
    size: int


def _timed(action: Callable[[], int], runs: int, label: str, *, warm_up: bool = True) -> Timing:
    if warm_up:
        action()
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = action()
        times.append(time.perf_counter() - started)
    return Timing(label, statistics.median(times), min(times), max(times), size)


def time_formats(document: Document, runs: int) -> tuple[list[Timing], bytes]:
    theme = get_theme(None)
    timings = []
    for fmt in FORMATS:

        def size(fmt: ExportFormat = fmt) -> int:
            return len(render(document, theme, fmt, image_loader=no_images).data)

        timings.append(_timed(size, runs, f"ours {fmt}"))
    pptx = render(document, theme, "pptx", image_loader=no_images).data
    return timings, pptx


def time_libreoffice(pptx: bytes, runs: int) -> tuple[Timing, float]:
    """Median of `runs` conversions, and the warm-up's time (it also makes the profile)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        raise RuntimeError("soffice not found: install libreoffice-impress")
    with tempfile.TemporaryDirectory(prefix="nxdocs-bench-lo-") as tmp:
        source = Path(tmp) / "deck.pptx"
        source.write_bytes(pptx)
        out = Path(tmp) / "out"
        command = [
            soffice,
            f"-env:UserInstallation=file://{tmp}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(source),
        ]

        def convert() -> int:
            shutil.rmtree(out, ignore_errors=True)
            subprocess.run(command, check=True, capture_output=True, timeout=300)
            return (out / "deck.pdf").stat().st_size

        started = time.perf_counter()
        convert()  # the warm-up; it also fills the fresh profile
        first = time.perf_counter() - started
        pages = len(pdfium.PdfDocument((out / "deck.pdf").read_bytes()))
        if pages != PAGES:
            raise RuntimeError(f"LibreOffice made {pages} pages of the {PAGES}-slide deck")
        timing = _timed(convert, runs, "LibreOffice pptx->pdf", warm_up=False)
    return timing, first


# -- worker memory --------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryPoint:
    exports: int
    rss_kb: int
    hwm_kb: int
    batch_s: float


def proc_status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def seed_artifact(system: System, document: Document) -> tuple[str, str]:
    """An owner and a ready artifact holding `document`, through the stores' own calls.

    The artifact is created with its `artifact.create` job; this process claims
    that job, stores the deck as the generated pages and completes the job, whose
    success hook marks the artifact ready (what the real handler does, without
    parsing Markdown into a different deck).
    """
    owner_id = system.keys.create("bench").owner_id
    artifact = system.artifacts.create(
        NewArtifact(
            owner_id=owner_id,
            name=document.title,
            type="presentation",
            prompt=None,
            content="# Quarterly Business Review",
            page_count=None,
            brand_id=None,
            theme_id=None,
            ai_instruction=None,
            named_by_client=True,
        )
    )
    (job,) = system.store.claim(SEED_WORKER, 1, 60)
    fence = Fence(job.id, SEED_WORKER, job.attempt, job.run_id)
    generated = GeneratedArtifact(document, document.title, {"generator": "bench"})
    if not system.artifacts.save_generated(fence, artifact.id, generated):
        raise RuntimeError("could not store the seed artifact's pages")
    if not system.store.complete(job, SEED_WORKER, {"artifact_id": artifact.id}):
        raise RuntimeError("could not complete the seed artifact's job")
    ready = system.artifacts.get({owner_id}, artifact.id)
    if ready is None or ready.status != "ready":
        raise RuntimeError(f"the seed artifact is not ready: {ready}")
    return owner_id, artifact.id


@contextmanager
def worker(data_dir: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`nxdocs worker` on `data_dir`, one job at a time; stopped with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXDOCS_")}
    env.update(
        NXDOCS_DATA_DIR=str(data_dir),
        NXDOCS_WORKER_CONCURRENCY="1",
        NXDOCS_POLL_INTERVAL_SECONDS="0.05",  # SQLite: no cross-process wake-up
        NXDOCS_MONTHLY_EXPORT_LIMIT="1000000",
        NXDOCS_LOG_LEVEL="info",
    )
    with log.open("wb") as sink:
        process = subprocess.Popen([NXDOCS, "worker"], env=env, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 60
        while " started, concurrency " not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the worker did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def count_finished(reads: sa.Engine) -> tuple[int, int]:
    """Exports completed, and failed."""
    with reads.connect() as connection:
        rows = connection.execute(
            sa.select(exports.c.status, sa.func.count()).group_by(exports.c.status)
        ).all()
    counts = {status: int(count) for status, count in rows}
    return counts.get("completed", 0), counts.get("failed", 0)


def measure_memory(
    document: Document, total: int, batch: int
) -> tuple[int, list[MemoryPoint], int]:
    """Idle RSS before the first export (kB), a point after every batch, failed exports."""
    with tempfile.TemporaryDirectory(prefix="nxdocs-bench-export-") as tmp:
        data_dir = Path(tmp) / "data"
        settings = Settings(
            data_dir=data_dir, monthly_export_limit=1_000_000, max_active_jobs_per_owner=0
        )
        system = build_system(settings)  # migrates the fresh database
        reads = sa.create_engine(settings.resolved_database_url())  # takes no write lock
        try:
            owner_id, artifact_id = seed_artifact(system, document)
            with worker(data_dir, Path(tmp) / "worker.log") as process:
                idle = proc_status(process.pid)["VmRSS"]
                points: list[MemoryPoint] = []
                done = failed = 0
                while done + failed < total:
                    size = min(batch, total - done - failed)
                    started = time.perf_counter()
                    # Counted in the store since the quota moved there: set high.
                    quota = Quota.monthly(settings.monthly_export_limit, system.clock.now_ms())
                    for _ in range(size):
                        system.exports.create(owner_id, artifact_id, "pdf", None, quota)
                    target = done + failed + size
                    while done + failed < target:
                        if process.poll() is not None:
                            raise RuntimeError("the worker exited:\n" + _tail(Path(tmp)))
                        if time.perf_counter() - started > EXPORT_TIMEOUT_SECONDS * size:
                            raise RuntimeError("exports are not finishing:\n" + _tail(Path(tmp)))
                        time.sleep(0.02)
                        done, failed = count_finished(reads)
                    status = proc_status(process.pid)
                    points.append(
                        MemoryPoint(
                            done + failed,
                            status["VmRSS"],
                            status["VmHWM"],
                            time.perf_counter() - started,
                        )
                    )
                    print(
                        f"  {done + failed:5d} exports  RSS {status['VmRSS'] / 1024:7.1f} MiB  "
                        f"peak {status['VmHWM'] / 1024:7.1f} MiB  "
                        f"{(time.perf_counter() - started) / size:.2f} s/export",
                        flush=True,
                    )
        finally:
            reads.dispose()
            system.close()
    return idle, points, failed


def _tail(tmp: Path) -> str:
    return "\n".join((tmp / "worker.log").read_text().splitlines()[-30:])


# -- report ---------------------------------------------------------------------------


def font_subsetter() -> str:
    """Which library WeasyPrint subsets embedded fonts with: most of a PDF's time if fontTools."""
    if harfbuzz_subset is not None:
        return "HarfBuzz (libharfbuzz-subset)"
    return "fontTools (pure Python; libharfbuzz-subset.so.0 not found)"


def _machine() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}"


def print_times(timings: list[Timing], lo: tuple[Timing, float] | None, pages: int) -> None:
    print(f"\nTime per format, {pages}-slide deck ({_machine()})")
    print(f"WeasyPrint font subsetting: {font_subsetter()}\n")
    header = (
        f"{'export':24} {'median s':>9} {'min s':>7} {'max s':>7} {'ms/slide':>9} {'bytes':>10}"
    )
    print(header)
    print("-" * len(header))
    rows = [*timings, *([lo[0]] if lo else [])]
    for t in rows:
        print(
            f"{t.label:24} {t.median_s:>9.3f} {t.min_s:>7.3f} {t.max_s:>7.3f} "
            f"{1000 * t.median_s / pages:>9.1f} {t.size:>10,}"
        )
    if lo:
        ours = next(t for t in timings if t.label == "ours pdf")
        ratio = lo[0].median_s / ours.median_s
        verdict = "met" if ratio >= LIBREOFFICE_TARGET else "MISSED"
        print(
            f"\nLibreOffice first run with its fresh profile: {lo[1]:.3f} s (not in the median)"
            f"\nLibreOffice PDF / our PDF: {ratio:.2f}x  "
            f"(target >= {LIBREOFFICE_TARGET:.0f}x: {verdict})"
        )


def _mib_row(label: str, kb: int) -> None:
    print(f"{label:40} {kb / 1024:8.1f} MiB")


def print_memory(idle: int, points: list[MemoryPoint], failed: int, batch: int) -> None:
    print(f"\nWorker memory, PDF exports of the deck, concurrency 1 ({_machine()})\n")
    first, last = points[0], points[-1]
    growth = last.rss_kb / first.rss_kb - 1
    verdict = "met" if growth <= RSS_GROWTH_TARGET else "MISSED"
    _mib_row("worker RSS idle, before any export", idle)
    _mib_row(f"peak RSS (VmHWM) after {first.exports} exports", first.hwm_kb)
    _mib_row(f"peak RSS (VmHWM) after {last.exports} exports", last.hwm_kb)
    _mib_row(f"RSS after {first.exports} exports", first.rss_kb)
    _mib_row(f"RSS after {last.exports} exports", last.rss_kb)
    print(
        f"{'RSS growth':40} {100 * growth:+8.1f} %   "
        f"(target <= +{100 * RSS_GROWTH_TARGET:.0f}%: {verdict})"
    )
    if len(points) > 1:
        slope = (last.rss_kb - first.rss_kb) / (last.exports - first.exports)
        print(f"{'RSS slope after ' + str(first.exports) + ' exports':40} {slope:8.1f} KiB/export")
    total_s = sum(p.batch_s for p in points)
    print(f"{'exports failed':40} {failed:8d}")
    print(
        f"{'end to end, enqueue to completed':40} {total_s / last.exports:8.3f} s/export "
        f"(batches of {batch})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per format (median)")
    parser.add_argument("--exports", type=int, default=500, help="PDF exports for the memory run")
    parser.add_argument(
        "--batch", type=int, default=50, help="exports per batch; RSS read after each"
    )
    parser.add_argument("--skip-libreoffice", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    document = deck()
    pages = len(document.pages)

    print(f"time per format: {args.runs} runs after a warm-up ...", flush=True)
    timings, pptx = time_formats(document, args.runs)
    lo = None
    if not args.skip_libreoffice:
        print(f"LibreOffice: {args.runs} runs after a warm-up ...", flush=True)
        lo = time_libreoffice(pptx, args.runs)
    print_times(timings, lo, pages)

    if not args.skip_memory:
        print(f"\nworker memory: {args.exports} PDF exports in batches of {args.batch} ...")
        idle, points, failed = measure_memory(document, args.exports, args.batch)
        print_memory(idle, points, failed, args.batch)


if __name__ == "__main__":
    main()
