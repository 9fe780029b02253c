"""The pieces behind the asset routes, without a server or a database.

The image checks (`nxdocs.assets.images`), the renderer's asset loader and its
budget (`nxdocs.render.asset_images`), the export handler's owner-bound reads,
the upload body bound (`BodyLimits`), and asset ids in the page model and in
Markdown.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from nxdocs.api.body_limits import BodyLimits
from nxdocs.assets.images import ImageChecks, ImageRefusedError, checked_image, jpeg_complete
from nxdocs.assets.store import file_stem
from nxdocs.exports.handler import _OwnerAssets
from nxdocs.generate import GenerationRequest, MarkdownGenerator
from nxdocs.pages import ImageBlock
from nxdocs.render.asset_images import AssetImageLoader
from nxdocs.render.image_budget import ImageBudget

from .samples import MARK, image_bytes, near_mark, png_header_claiming

ASSET = "asset_0mx78ulh4tvywl72e1vub19xl"


def test_a_complete_jpeg_passes_and_a_cut_one_does_not() -> None:
    for options in ({}, {"progressive": True}, {"restart_marker_blocks": 1}):
        data = image_bytes("JPEG", size=(120, 80), **options)
        assert jpeg_complete(data), options
        assert jpeg_complete(data + b"camera trailer"), options
        assert not jpeg_complete(data[:-2]), options
        assert not jpeg_complete(data[: len(data) // 2]), options
    assert not jpeg_complete(b"\xff\xd8")
    assert not jpeg_complete(b"\xff\xd8\xff\xe0\x00\x01")


def test_metadata_is_dropped_from_png_and_jpeg() -> None:
    image = Image.new("RGB", (30, 20), MARK)
    exif = Image.Exif()
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS: a latitude
    jpeg = io.BytesIO()
    image.save(jpeg, format="JPEG", comment=b"secret comment", exif=exif.tobytes())
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "secret author")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret</x:xmpmeta>")
    png = io.BytesIO()
    image.save(png, format="PNG", pnginfo=text, exif=exif.tobytes())

    for data in (jpeg.getvalue(), png.getvalue()):
        assert b"secret" in data
        stored = checked_image(data, max_pixels=1000).data
        assert b"secret" not in stored
        with Image.open(io.BytesIO(stored)) as kept:
            assert not kept.getexif()
            assert not set(kept.info) & {"comment", "exif", "Author", "XML:com.adobe.xmp"}


def test_image_checks_hold_their_limit() -> None:
    checks = ImageChecks(max_pixels=100, concurrent=1)

    assert checks(image_bytes("PNG", size=(10, 10))).width == 10
    with pytest.raises(ImageRefusedError):
        checks(image_bytes("PNG", size=(11, 10)))


def test_a_cmyk_jpeg_is_stored_as_rgb() -> None:
    out = io.BytesIO()
    Image.new("CMYK", (8, 8), (0, 100, 0, 0)).save(out, format="JPEG")

    stored = checked_image(out.getvalue(), max_pixels=1000)

    assert stored.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(stored.data)).mode == "RGB"


def test_a_palette_png_keeps_its_transparency() -> None:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, *MARK])
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=0)

    stored = Image.open(io.BytesIO(checked_image(out.getvalue(), max_pixels=100).data))

    assert (stored.mode, stored.info.get("transparency")) == ("P", 0)


def test_the_pixel_limit_is_inclusive() -> None:
    assert checked_image(image_bytes("PNG", size=(10, 10)), max_pixels=100).width == 10
    with pytest.raises(ImageRefusedError, match="10x11"):
        checked_image(image_bytes("PNG", size=(10, 11)), max_pixels=100)
    with pytest.raises(ImageRefusedError):
        checked_image(png_header_claiming(8000, 6250), max_pixels=40_000_000)


@pytest.mark.parametrize(
    ("name", "stem"),
    [("logo.png", "logo"), ("Team Photo.JPEG", "Team-Photo"), ("../../x", "x"), ("ü", "asset")],
)
def test_file_names_are_safe(name: str, stem: str) -> None:
    assert file_stem(name) == stem


class _Fallback:
    max_concurrent = 3

    def __init__(self) -> None:
        self.sources: list[str] = []

    def __call__(self, src: str, /) -> tuple[bytes, str] | None:
        self.sources.append(src)
        return None


def test_the_loader_reads_assets_and_hands_on_everything_else() -> None:
    read: list[str] = []
    png = image_bytes("PNG")

    def assets(asset_id: str) -> tuple[bytes, str] | None:
        read.append(asset_id)
        return (png, "image/png") if asset_id == ASSET else None

    fallback = _Fallback()
    loader = AssetImageLoader(assets, fallback, ImageBudget())

    assert loader(ASSET) == (png, "image/png")
    assert loader("asset_unknown") is None
    assert loader("https://example.org/a.png") is None
    assert read == [ASSET, "asset_unknown"]
    assert fallback.sources == ["https://example.org/a.png"]
    assert loader.max_concurrent == 3


def test_assets_are_counted_against_the_budget() -> None:
    png = image_bytes("PNG")

    def assets(_asset_id: str) -> tuple[bytes, str]:
        return png, "image/png"

    by_count = AssetImageLoader(assets, _Fallback(), ImageBudget(max_images=2))
    assert [by_count(f"asset_{n}") is not None for n in range(3)] == [True, True, False]
    by_bytes = AssetImageLoader(assets, _Fallback(), ImageBudget(max_total_bytes=len(png) * 2 + 1))
    assert [by_bytes(f"asset_{n}") is not None for n in range(3)] == [True, True, False]


def test_a_failed_asset_read_is_raised_after_the_render() -> None:
    def broken(_owner_id: str, _asset_id: str) -> tuple[bytes, str] | None:
        raise OSError("the store is down")

    reads = _OwnerAssets(broken, "user_a")
    assert reads(ASSET) is None  # the render goes on, drawing the alt text
    with pytest.raises(OSError, match="the store is down"):
        reads.raise_failure()

    seen: list[tuple[str, str]] = []

    def owned(owner_id: str, asset_id: str) -> tuple[bytes, str] | None:
        seen.append((owner_id, asset_id))
        return None

    _OwnerAssets(owned, "org_b")(ASSET)
    assert seen == [("org_b", ASSET)]
    assert _OwnerAssets(None, "user_a")(ASSET) is None


def _call_with_chunks(
    app: BodyLimits, path: str, content_type: bytes, chunks: int, chunk: bytes
) -> tuple[int, int]:
    """(status, bytes the middleware took from the client) for a chunked POST."""
    taken = 0
    given = 0
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken, given
        given += 1
        taken += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": given < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", content_type)],
    }
    asyncio.run(app(scope, receive, send))
    return status[0], taken


def test_an_upload_body_is_read_up_to_its_own_limit_only() -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    limits = BodyLimits(inner, max_bytes=1000, uploads={"/v1/assets": 50_000})
    multipart = b"multipart/form-data; boundary=x"
    chunk = b"x" * 1000

    # A client sending 1 GB is cut off just past the limit.
    status, taken = _call_with_chunks(limits, "/v1/assets", multipart, 1_000_000, chunk)
    assert (status, taken) == (413, 51_000)
    assert _call_with_chunks(limits, "/v1/assets", multipart, 50, chunk) == (201, 50_000)
    # JSON bodies keep the general limit; only the upload path takes a form (the
    # route itself refuses JSON there, so that other methods get their 405).
    assert _call_with_chunks(limits, "/v1/artifacts", b"application/json", 2, chunk)[0] == 413
    assert _call_with_chunks(limits, "/v1/artifacts", multipart, 1, chunk)[0] == 415
    assert _call_with_chunks(limits, "/v1/assets", b"text/plain", 1, chunk)[0] == 415
    assert _call_with_chunks(limits, "/v1/assets", b"application/json", 1, chunk)[0] == 201


def test_asset_ids_are_image_sources_in_the_page_model_and_in_markdown() -> None:
    assert ImageBlock(src=ASSET).src == ASSET
    for refused in ("asset_", "asset_A B", "assets/logo.png", "logo.png"):
        with pytest.raises(ValueError, match="image src"):
            ImageBlock(src=refused)

    content = f"# Deck\n\n![Logo]({ASSET})\n\n![Local](logo.png)\n"
    request = GenerationRequest(type="presentation", content=content)
    document = MarkdownGenerator().generate(request).document
    images = [block for block in document.pages[0].blocks if isinstance(block, ImageBlock)]
    assert [(image.src, image.alt) for image in images] == [(ASSET, "Logo")]


def test_near_mark_tells_the_colour_apart() -> None:
    assert near_mark(MARK)
    assert not near_mark((255, 255, 255))
