"""An asset named in an artifact's Markdown is drawn in every export format, without a fetch.

`![logo](asset_...)` becomes an image block whose source is the asset's id;
the export handler reads the bytes from the blob store, only among the
artifact's owner's assets. Each file is fetched through its signed link and
read back: the PDF has an image object of the asset's colour, the PPTX a
picture, a PNG page the colour itself, the HTML the image as a `data:` URI.
An asset of another owner is drawn as its alt text. Both databases.
"""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import httpx
import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from nxdocs.render.http_images import HttpImageLoader
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.file_readers import html_pages, pdf_pages, pptx_slides

from .samples import image_bytes, near_mark, uploaded

FORMATS = ("pdf", "pptx", "png", "html")


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every source the exports hand to the http(s) image loader (none is fetched)."""
    sources: list[str] = []

    def record(_loader: HttpImageLoader, src: str, /) -> None:
        sources.append(src)

    monkeypatch.setattr(HttpImageLoader, "__call__", record)
    return sources


def deck(mine: str, theirs: str) -> dict[str, Any]:
    content = (
        f"# Launch\n\nOur mark:\n\n![Our logo]({mine})\n\n---\n\n"
        f"## Borrowed\n\n![Someone else's logo]({theirs})\n"
    )
    return {"type": "presentation", "content": content}


def download(anonymous: httpx.Client, caller: Caller, artifact_id: str, fmt: str) -> bytes:
    export = caller.export(artifact_id, fmt)
    assert export["status"] == "completed", export
    response = anonymous.get(export["download_url"])
    assert response.status_code == 200, response.text
    return response.content


def pdf_image_pixels(data: bytes) -> list[list[tuple[int, ...]]]:
    """Per page, the centre pixel of each image object."""
    pdf = pypdfium2.PdfDocument(data)
    pages = []
    for page in pdf:
        centres = []
        for found in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
            image = found.get_bitmap().to_pil().convert("RGB")
            centres.append(image.getpixel((image.width // 2, image.height // 2)))
        pages.append(centres)
    pdf.close()
    return pages


def pptx_pictures(data: bytes) -> list[list[bytes]]:
    """Per slide, the image bytes of each picture shape."""
    return [
        [shape.image.blob for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]
        for slide in Presentation(io.BytesIO(data)).slides
    ]


def png_pages_with_mark(data: bytes) -> list[bool]:
    """Per page of the zip, whether some pixel has the asset's colour."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            with Image.open(io.BytesIO(archive.read(name))) as page:
                colours = page.convert("RGB").getcolors(maxcolors=1 << 24) or []
                found.append(any(near_mark(colour) for _count, colour in colours))
    return found


def test_an_asset_is_drawn_in_every_format_and_anothers_is_alt_text(
    alice: Caller, bob: Caller, anonymous: httpx.Client, fetched: list[str]
) -> None:
    mine = uploaded(alice, image_bytes("PNG", size=(160, 100)), name="logo")
    theirs = uploaded(bob, image_bytes("PNG", size=(160, 100)))
    stored = anonymous.get(mine["url"]).content
    artifact = alice.ready_artifact(deck(mine["id"], theirs["id"]))

    files = {fmt: download(anonymous, alice, artifact["id"], fmt) for fmt in FORMATS}

    centres = pdf_image_pixels(files["pdf"])
    assert [len(page) for page in centres] == [1, 0]
    assert near_mark(centres[0][0])
    assert "Someone else's logo" in pdf_pages(files["pdf"])[1]

    assert pptx_pictures(files["pptx"]) == [[stored], []]
    assert "Someone else's logo" in pptx_slides(files["pptx"])[1].text

    assert png_pages_with_mark(files["png"]) == [True, False]

    html = files["html"].decode()
    assert html.count("data:image/png;base64," + base64.b64encode(stored).decode()) == 1
    assert "Someone else's logo" in html_pages(html)[1].text
    assert mine["id"] not in html
    assert theirs["id"] not in html

    assert fetched == []  # no source went to the network loader


def test_an_organizations_artifact_draws_the_organizations_assets(
    alice: Caller, api: ServedApi, anonymous: httpx.Client, fetched: list[str]
) -> None:
    org = api.system.organizations.create("Acme", alice.owner_id)
    in_org = uploaded(alice, org_id=org.id)
    personal = uploaded(alice)
    artifact = alice.ready_artifact({**deck(in_org["id"], personal["id"]), "org_id": org.id})

    html = download(anonymous, alice, artifact["id"], "html").decode()

    # The artifact is the organization's: its assets, not the member's own.
    assert html.count("data:image/png;base64,") == 1
    assert "Someone else's logo" in html_pages(html)[1].text
    assert fetched == []


def test_a_deleted_asset_is_alt_text_in_later_exports(
    alice: Caller, anonymous: httpx.Client
) -> None:
    asset = uploaded(alice)
    artifact = alice.ready_artifact(
        {"type": "document", "content": f"# Notes\n\n![Gone logo]({asset['id']})\n"}
    )
    assert "data:image/png" in download(anonymous, alice, artifact["id"], "html").decode()

    assert alice.delete(f"/v1/assets/{asset['id']}").status_code == 200

    html = download(anonymous, alice, artifact["id"], "html").decode()
    assert "data:image/png" not in html
    assert "Gone logo" in html_pages(html)[0].text


def test_assets_count_against_the_exports_image_budget(
    make_api: MakeApi, anonymous: httpx.Client
) -> None:
    served = make_api(image_max_count=1)
    alice = served.caller()
    first, second = uploaded(alice), uploaded(alice)
    content = f"# Two\n\n![First]({first['id']})\n\n![Second]({second['id']})\n"
    artifact = alice.ready_artifact({"type": "document", "content": content})

    html = download(anonymous, alice, artifact["id"], "html").decode()

    assert html.count("data:image/png;base64,") == 1
    assert "image-missing" in html
