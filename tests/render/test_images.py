"""Image loading: data URIs, checks with Pillow, conversion, and refusal."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from nxdocs.render import decode_data_uri, load_image
from nxdocs.render.images import MAX_PIXELS

from .samples import png_bytes, png_data_uri


def _never_called(src: str) -> tuple[bytes, str] | None:
    raise AssertionError(f"the loader was asked for {src}")


def _encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def test_data_uris_are_decoded_without_the_loader() -> None:
    image = load_image(png_data_uri((40, 20)), _never_called)
    assert image is not None
    assert (image.mime, image.width, image.height) == ("image/png", 40, 20)
    assert image.data_uri().startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("data:image/png;base64,aGVsbG8=", (b"hello", "image/png")),
        ("data:image/svg+xml,%3Csvg%3E", (b"<svg>", "image/svg+xml")),
        ("data:,plain", (b"plain", "text/plain")),
        ("data:image/png;base64", None),
        ("http://example.com/x.png", None),
    ],
)
def test_decode_data_uri(uri: str, expected: tuple[bytes, str] | None) -> None:
    assert decode_data_uri(uri) == expected


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "TIFF"])
def test_other_formats_become_png(fmt: str) -> None:
    data = _encoded(Image.new("RGB", (30, 10), "#123456"), fmt)
    image = load_image("https://images.example/x", lambda _src: (data, "image/x-anything"))
    assert image is not None
    assert image.mime == "image/png"
    assert Image.open(io.BytesIO(image.data)).size == (30, 10)


def test_jpeg_is_kept_as_is() -> None:
    data = _encoded(Image.new("RGB", (30, 10), "#123456"), "JPEG")
    image = load_image("https://images.example/x.jpg", lambda _src: (data, "image/jpeg"))
    assert image is not None
    assert (image.mime, image.data) == ("image/jpeg", data)


@pytest.mark.parametrize(
    "data",
    [
        b"not an image at all",
        png_bytes()[:60],  # truncated
        b"",
    ],
)
def test_unusable_bytes_give_no_image(data: bytes) -> None:
    assert load_image("https://images.example/x", lambda _src: (data, "image/png")) is None
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    assert load_image(uri, _never_called) is None


def test_images_beyond_the_pixel_limit_are_refused() -> None:
    side = int(MAX_PIXELS**0.5) + 10
    data = _encoded(Image.new("1", (side, side)), "PNG")
    assert load_image("https://images.example/huge", lambda _src: (data, "image/png")) is None


def test_a_failed_fetch_gives_no_image() -> None:
    assert load_image("https://images.example/gone", lambda _src: None) is None
