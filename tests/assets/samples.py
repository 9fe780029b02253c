"""Images to upload, made on the spot, and the helpers the asset tests share."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import httpx
from PIL import Image

from tests.support.api import Caller

MARK = (23, 201, 137)
"""The colour of every sample image: easy to find again in a rendered page."""


def near_mark(pixel: Any, tolerance: int = 6) -> bool:
    """Whether an RGB(A) pixel is `MARK`, give or take what scaling and encoding do."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], MARK, strict=True))


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), **options: Any) -> bytes:
    """A solid `MARK` image in `fmt` (PNG, JPEG, WEBP, GIF ...)."""
    out = io.BytesIO()
    Image.new("RGB", size, MARK).save(out, format=fmt, **options)
    return out.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (its data is empty):
    what a decompression bomb looks like before anything is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
SVG += b'<script>alert(1)</script><rect width="10" height="10"/></svg>'


def upload(
    caller: Caller,
    data: bytes,
    file_name: str = "logo.png",
    content_type: str = "image/png",
    **fields: str,
) -> httpx.Response:
    """`POST /v1/assets` with `data` as the file part and `fields` as the other parts."""
    return caller.post("/v1/assets", files={"file": (file_name, data, content_type)}, data=fields)


def uploaded(caller: Caller, data: bytes | None = None, **fields: str) -> dict[str, Any]:
    """Upload a PNG sample (or `data`); the asset, which must have been created."""
    response = upload(caller, data if data is not None else image_bytes("PNG"), **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def patch(caller: Caller, asset_id: str, body: Any) -> httpx.Response:
    return caller.http.patch(f"/v1/assets/{asset_id}", headers=caller.auth, json=body)


def assert_invalid(response: httpx.Response, field: str) -> str:
    """A 400 VALIDATION_ERROR naming `field` alone; its message."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR", error
    assert [detail["field"] for detail in error["details"]] == [field], error
    message: str = error["details"][0]["message"]
    return message
