"""Exported files, fetched through `download_url` without a key, read by independent readers.

The 10-slide presentation and the 6-page document of `tests.support.exports`
go through the API in every format; pypdf, python-pptx, Pillow + zipfile and
html.parser check what a client would get. Every test runs on both databases.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.export_samples import (
    PNG_DPI,
    PRESENTATION,
    REGIONAL_BULLETS,
    SAMPLES,
    Sample,
    SamplePage,
    expected_pixels,
)
from tests.support.exports import CONTENT_TYPES, FORMATS, assert_hosted_export
from tests.support.file_readers import html_pages, in_order, pdf_pages, png_pages, pptx_slides
from tests.support.waiting import wait_until


def download(anonymous: httpx.Client, export: dict[str, Any]) -> bytes:
    """The file behind the export's signed link, fetched with no API key, with its
    type and its name (`Content-Disposition`) checked."""
    fmt = export["format"]
    response = anonymous.get(export["download_url"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == export["content_type"] == CONTENT_TYPES[fmt]
    name = export["file_name"]
    assert response.headers["content-disposition"] == (
        f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
    )
    assert int(response.headers["content-length"]) == len(response.content) > 0
    return response.content


def check_file(fmt: str, data: bytes, kind: str, pages: list[SamplePage]) -> None:
    """`data` holds exactly `pages`, in order, as the format shows them."""
    titles = [page.title for page in pages]
    if fmt == "pdf":
        texts = pdf_pages(data)
        assert len(texts) == len(pages), texts
        for text, page in zip(texts, pages, strict=True):
            assert in_order(text, [page.title, page.body]), (page, text)
    elif fmt == "pptx":
        slides = pptx_slides(data)
        assert [slide.title for slide in slides] == titles
        for slide, page in zip(slides, pages, strict=True):
            assert page.body in slide.text, (page, slide)
            assert slide.notes == page.notes, (page, slide)
    elif fmt == "png":
        sizes = png_pages(data)
        assert list(sizes) == [f"page-{n:03d}.png" for n in range(1, len(pages) + 1)]
        expected = expected_pixels(kind, PNG_DPI)
        for name, size in sizes.items():
            assert size == pytest.approx(expected, abs=1), (name, size, expected)
    else:
        shown = html_pages(data.decode())
        assert len(shown) == len(pages)
        for html_page, page in zip(shown, pages, strict=True):
            assert in_order(html_page.text, [page.title, page.body]), (page, html_page)
            assert page.notes is None or page.notes not in html_page.text
            assert html_page.hidden == (page.notes or "")


@pytest.mark.parametrize("kind", ["presentation", "document"])
def test_every_page_of_both_samples_in_every_format(
    api: ServedApi,
    alice: Caller,
    anonymous: httpx.Client,
    subtests: pytest.Subtests,
    kind: str,
) -> None:
    sample: Sample = SAMPLES[kind]
    artifact = alice.ready_artifact(sample)
    assert artifact["page_count"] == len(sample.pages)

    for fmt in FORMATS:
        with subtests.test(format=fmt):
            export = alice.export(artifact["id"], fmt)

            assert_hosted_export(export, "completed", base_url=api.base_url)
            assert (export["format"], export["pages_exported"]) == (fmt, len(sample.pages))
            extension = {"png": "zip"}.get(fmt, fmt)
            assert export["file_name"] == f"{sample.name.replace(' ', '-')}.{extension}"
            data = download(anonymous, export)
            check_file(fmt, data, kind, list(sample.pages))
            if fmt == "html":
                assert export["content"] == data.decode()
            if fmt == "pptx" and kind == "presentation":
                assert pptx_slides(data)[2].paragraphs == REGIONAL_BULLETS
            # The blob store holds the file, once, under the export's own key.
            (stored,) = api.export_files(export["id"])
            assert (stored.name, stored.read_bytes()) == (export["file_name"], data)
            # The contract hook validates the job; `progress` is additive and complete.
            job = alice.ok(f"/v1/jobs/{export['job_id']}")
            assert (job["status"], job["result"]) == ("completed", {"export_id": export["id"]})
            pages = len(sample.pages)
            assert job["progress"] == {"done": pages, "total": pages}


def test_pages_two_and_four_only_in_every_format(
    api: ServedApi, alice: Caller, anonymous: httpx.Client, subtests: pytest.Subtests
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)
    chosen = [PRESENTATION.pages[1], PRESENTATION.pages[3]]

    for fmt in FORMATS:
        with subtests.test(format=fmt):
            export = alice.export(artifact["id"], fmt, pages=[2, 4])

            assert_hosted_export(export, "completed", base_url=api.base_url)
            assert export["pages_exported"] == 2
            check_file(fmt, download(anonymous, export), "presentation", chosen)
            assert alice.ok(f"/v1/exports/{export['id']}")["pages_exported"] == 2
            job = alice.ok(f"/v1/jobs/{export['job_id']}")
            assert job["progress"] == {"done": 2, "total": 2}


def test_png_progress_is_reported_page_by_page_while_it_renders(make_api: MakeApi) -> None:
    api = make_api(png_dpi=100)
    alice = api.caller("alice")
    deck = alice.ready_artifact(
        {"prompt": "Launch plan: goals, market and risks", "page_count": 50}
    )
    assert deck["page_count"] == 50

    created = alice.export_async(deck["id"], "png")
    seen: list[dict[str, int]] = []

    def finished() -> bool:
        job = alice.ok(f"/v1/jobs/{created['job_id']}")
        if job["progress"] is not None and (not seen or seen[-1] != job["progress"]):
            seen.append(job["progress"])
        return bool(job["status"] != "processing")

    wait_until(finished, timeout=60, interval=0.01)

    assert seen[-1] == {"done": 50, "total": 50}
    assert all(step["total"] == 50 for step in seen), seen
    done = [step["done"] for step in seen]
    assert done == sorted(done), seen
    assert any(0 < step < 50 for step in done), f"no page-by-page progress was seen: {seen}"
