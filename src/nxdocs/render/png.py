"""The PNG renderer: each PDF page rasterised by pdfium, zipped.

The archive is deterministic (fixed timestamps, pages in order), so the same
PDF always gives the same bytes and a retried job overwrites its file with an
identical one.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pypdfium2 as pdfium

Progress = Callable[[int, int], None]

MAX_DPI = 600
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold


def render_png_zip(pdf: bytes, dpi: int, progress: Progress | None = None) -> bytes:
    """A zip of `page-001.png`, `page-002.png`, ... rendered at `dpi`."""
    if not 1 <= dpi <= MAX_DPI:
        raise ValueError(f"dpi must be between 1 and {MAX_DPI}")
    out = io.BytesIO()
    document = pdfium.PdfDocument(pdf)
    try:
        total = len(document)
        # PNG data is already deflated: storing it saves time and changes nothing.
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
            for index in range(total):
                entry = zipfile.ZipInfo(f"page-{index + 1:03d}.png", date_time=_ZIP_EPOCH)
                archive.writestr(entry, _page_png(document, index, dpi))
                if progress is not None:
                    progress(index + 1, total)
    finally:
        document.close()
    return out.getvalue()


def _page_png(document: pdfium.PdfDocument, index: int, dpi: int) -> bytes:
    page = document[index]
    try:
        bitmap = page.render(scale=dpi / 72)
        image = bitmap.to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()
    finally:
        page.close()
