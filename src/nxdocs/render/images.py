"""Images for the renderers: loaded once, checked, ready to embed.

Image sources are untrusted. `data:` URIs are decoded here, anything else
goes through an `ImageLoader` (the port; `HttpImageLoader` is the real one).
Every image is then decoded by Pillow before a renderer sees it, so a
truncated file, a decompression bomb or something that is not a picture
becomes "no image" (the renderer draws the alt text) instead of a failed or
runaway export. Formats other than PNG/JPEG/GIF are converted to PNG because
those three are what both WeasyPrint and PowerPoint read.

A loader that declares itself a `ConcurrentImageLoader` is called from a few
threads at once; any other loader one image at a time. Either way each image
is decoded as soon as it arrives and its downloaded bytes are let go.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import unquote_to_bytes

from PIL import Image

from nxdocs.pages.model import Document, ImageBlock

MAX_PIXELS = 40_000_000
_KEPT_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}


class ImageLoader(Protocol):
    """Fetches an image by URL: `(bytes, mime type)`, or None when it cannot."""

    def __call__(self, src: str, /) -> tuple[bytes, str] | None: ...


@runtime_checkable
class ConcurrentImageLoader(ImageLoader, Protocol):
    """An `ImageLoader` that may be called from `max_concurrent` threads at once."""

    @property
    def max_concurrent(self) -> int: ...


@dataclass(frozen=True)
class LoadedImage:
    """A decoded, checked image in a format every renderer accepts."""

    data: bytes
    mime: str
    width: int
    height: int

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def decode_data_uri(src: str) -> tuple[bytes, str] | None:
    """The bytes and mime type of a `data:` URI; None when it is malformed."""
    header, sep, payload = src.partition(",")
    if not sep or not header.startswith("data:"):
        return None
    params = header[len("data:") :].split(";")
    mime = params[0] or "text/plain"
    if "base64" not in params[1:]:
        return unquote_to_bytes(payload), mime
    try:
        return base64.b64decode(payload, validate=False), mime
    except (binascii.Error, ValueError):
        return None


def load_image(src: str, loader: ImageLoader) -> LoadedImage | None:
    """The image at `src`, decoded and checked; None when it cannot be used."""
    raw = _raw(src, loader)
    if raw is None:
        return None
    return _checked(raw[0])


def load_images(document: Document, loader: ImageLoader) -> dict[str, LoadedImage | None]:
    """Every image of the document by `src`, each source loaded once."""
    sources = list(dict.fromkeys(block.src for block in _image_blocks(document)))
    width = loader.max_concurrent if isinstance(loader, ConcurrentImageLoader) else 1
    if min(width, len(sources)) <= 1:
        return {src: load_image(src, loader) for src in sources}
    images: dict[str, LoadedImage | None] = {}
    pool = ThreadPoolExecutor(max_workers=min(width, len(sources)), thread_name_prefix="images")
    try:
        fetches = {pool.submit(_raw, src, loader): src for src in sources}
        for fetch in as_completed(fetches):
            # Decoded here, one at a time: `_checked` sets warning filters,
            # which are process-wide and not safe to change from many threads.
            # Popped, so the future and its downloaded bytes go once decoded.
            src, raw = fetches.pop(fetch), fetch.result()
            images[src] = None if raw is None else _checked(raw[0])
    finally:
        pool.shutdown(cancel_futures=True)
    return {src: images[src] for src in sources}


def _raw(src: str, loader: ImageLoader) -> tuple[bytes, str] | None:
    return decode_data_uri(src) if src.startswith("data:") else loader(src)


def _image_blocks(document: Document) -> Iterator[ImageBlock]:
    for page in document.pages:
        for block in page.blocks:
            if isinstance(block, ImageBlock):
                yield block


def _checked(data: bytes) -> LoadedImage | None:
    # Pillow raises many exception types on hostile input (OSError, ValueError,
    # SyntaxError from some plugins, DecompressionBombError...): all mean
    # "not a usable image", which the renderers handle by drawing the alt text.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                # WeasyPrint sets Pillow's global LOAD_TRUNCATED_IMAGES on import,
                # so load() alone accepts a cut-off file; verify() still refuses one.
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return _normalised(image, data)
    except Exception:
        return None


def _normalised(image: Image.Image, data: bytes) -> LoadedImage:
    mime = _KEPT_FORMATS.get(image.format or "")
    if mime is None:
        out = io.BytesIO()
        converted = image if image.mode in {"RGB", "RGBA", "L", "LA"} else image.convert("RGBA")
        converted.save(out, format="PNG")
        data, mime = out.getvalue(), "image/png"
    return LoadedImage(data=data, mime=mime, width=image.width, height=image.height)
