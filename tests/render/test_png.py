"""PNG export: a zip of page images, read back with zipfile and Pillow."""

from __future__ import annotations

import io
import math
import zipfile

import pytest
from PIL import Image

from nxdocs.render import render_png_zip

from .samples import PNG_DPI

SLIDE_POINTS = (720, 405)  # 254mm x 142.875mm
A4_POINTS = (210 * 72 / 25.4, 297 * 72 / 25.4)


def _expected_pixels(points: tuple[float, float], dpi: int) -> tuple[int, int]:
    return math.ceil(points[0] * dpi / 72), math.ceil(points[1] * dpi / 72)


def _images(archive: bytes) -> dict[str, Image.Image]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        images = {}
        for name in zipped.namelist():
            image = Image.open(io.BytesIO(zipped.read(name)))
            image.load()
            assert image.format == "PNG"
            images[name] = image
        return images


def test_one_png_per_slide_at_the_dpi(presentation_pdf: bytes) -> None:
    progress: list[tuple[int, int]] = []
    images = _images(
        render_png_zip(
            presentation_pdf, PNG_DPI, lambda done, total: progress.append((done, total))
        )
    )
    assert list(images) == [f"page-{number:03d}.png" for number in range(1, 11)]
    expected = _expected_pixels(SLIDE_POINTS, PNG_DPI)
    for image in images.values():
        assert image.size == pytest.approx(expected, abs=1)
    assert progress == [(number, 10) for number in range(1, 11)]


def test_document_pages_at_another_dpi(document_pdf: bytes) -> None:
    images = _images(render_png_zip(document_pdf, 36))
    assert len(images) == 6
    expected = _expected_pixels(A4_POINTS, 36)
    assert all(image.size == pytest.approx(expected, abs=1) for image in images.values())


def test_zip_is_deterministic(presentation_pdf: bytes) -> None:
    first = render_png_zip(presentation_pdf, PNG_DPI)
    assert render_png_zip(presentation_pdf, PNG_DPI) == first
    with zipfile.ZipFile(io.BytesIO(first)) as zipped:
        assert {info.date_time for info in zipped.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize("dpi", [0, 601])
def test_dpi_out_of_range_is_refused(presentation_pdf: bytes, dpi: int) -> None:
    with pytest.raises(ValueError, match="dpi"):
        render_png_zip(presentation_pdf, dpi)
