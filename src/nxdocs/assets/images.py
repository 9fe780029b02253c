"""What an upload may be, decided by its bytes, and the image nxdocs keeps of it.

An upload is accepted if Pillow reads it as PNG, JPEG or WebP; the client's
file name and content type are not looked at. SVG is refused with a message
of its own: it is a document that can carry script and outside references,
not a picture, and nxdocs has no sanitiser it would trust with it.

The pixel limit is checked on the size the file's header declares, before
anything is decoded, so a small file claiming a huge image (a decompression
bomb) costs a header read. Pillow's own bomb guard stays on behind it. A file
cut short is refused too: WeasyPrint, imported by the renderers, switches
Pillow's global `LOAD_TRUNCATED_IMAGES` on, under which a truncated PNG or
JPEG would load with its missing part painted grey. So a PNG must pass
`verify()` (its chunks and checksums up to IEND) and a JPEG must run from its
first marker to its end-of-image marker; WebP's decoder refuses a cut file by
itself.

The image kept is re-encoded, never the uploaded bytes: PNG stays PNG, JPEG
stays JPEG (quality 90), WebP becomes PNG if it has transparency and JPEG if
not (WeasyPrint and PowerPoint read PNG and JPEG). Re-encoding drops every
piece of metadata (EXIF, with its GPS position and camera details, XMP,
comments) but the colour profile, after turning the image upright by its EXIF
orientation; an animation keeps its first frame. What is stored is then a
plain picture that is safe to hand to a browser or a renderer.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

from PIL import Image, ImageOps

ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
_PNG_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})
_JPEG_MODES = frozenset({"L", "RGB"})
_JPEG_QUALITY = 90
_SVG_SNIFF_BYTES = 1024


class ImageRefusedError(ValueError):
    """The upload is not an image nxdocs takes; the message says why, for the client."""


@dataclass(frozen=True)
class StoredImage:
    """The re-encoded image nxdocs keeps."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


class ImageChecks:
    """`checked_image` with a process's limit, at most `concurrent` at a time.

    Decoding and re-encoding an image at the pixel limit (40 megapixels) holds
    a few hundred megabytes for a second or so; more uploads than that at once
    wait their turn instead of adding up.
    """

    def __init__(self, max_pixels: int, concurrent: int = 2) -> None:
        self.max_pixels = max_pixels
        self._slots = threading.BoundedSemaphore(concurrent)

    def __call__(self, data: bytes) -> StoredImage:
        with self._slots:
            return checked_image(data, max_pixels=self.max_pixels)


def checked_image(data: bytes, *, max_pixels: int) -> StoredImage:
    """The upload, checked and re-encoded; `ImageRefusedError` if it cannot be taken."""
    if _looks_like_svg(data):
        raise ImageRefusedError(
            "SVG images are not accepted (they can carry scripts and outside references); "
            "upload a png, jpeg or webp image."
        )
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            _check_pixels(image.width, image.height, max_pixels)
            image_format = image.format
            if image_format == "PNG":
                image.verify()
        if image_format == "JPEG" and not jpeg_complete(data):
            raise ImageRefusedError("The jpeg image is cut short (it has no end-of-image marker).")
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            image.load()
            return _reencoded(image)
    except ImageRefusedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Only past Pillow's own bound, which is far above any allowed limit.
        raise ImageRefusedError(
            f"The image has more pixels than the {max_pixels:,} allowed."
        ) from None
    except Exception:
        # Pillow raises many types on hostile input (OSError, ValueError,
        # SyntaxError, struct.error...): all mean the same to the client.
        raise ImageRefusedError("The file is not a complete png, jpeg or webp image.") from None


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageRefusedError(
            f"The image is {width}x{height} pixels ({width * height:,}); "
            f"at most {max_pixels:,} pixels are allowed."
        )


def _looks_like_svg(data: bytes) -> bool:
    head = data[:_SVG_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def jpeg_complete(data: bytes) -> bool:
    """True if the JPEG's markers run from its start (SOI) to an end-of-image (EOI).

    Segments are skipped by their lengths; after each start-of-scan, the
    entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or
    a restart marker. Bytes after the EOI (some cameras add a trailer) are
    allowed; a file that ends before it is not.
    """
    if not data.startswith(b"\xff\xd8"):
        return False
    position, end = 2, len(data)
    while position + 1 < end:
        if data[position] != 0xFF:
            return False
        marker = data[position + 1]
        position += 2
        if marker == 0xFF:  # a fill byte before the marker
            position -= 1
        elif marker == 0xD9:
            return True
        elif not (0xD0 <= marker <= 0xD7 or marker == 0x01):
            if position + 2 > end:
                return False
            length = int.from_bytes(data[position : position + 2], "big")
            if length < 2:
                return False
            position += length
            if marker == 0xDA:
                position = _scan_end(data, position)
    return False


def _scan_end(data: bytes, position: int) -> int:
    """Where the marker after a scan's entropy-coded data starts (or the end)."""
    while True:
        found = data.find(b"\xff", position)
        if found < 0 or found + 1 >= len(data):
            return len(data)
        following = data[found + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            position = found + 1 if following == 0xFF else found + 2
            continue
        return found


def _reencoded(image: Image.Image) -> StoredImage:
    source_format = image.format
    # In place: an upright image (most are) is not copied, which at 40
    # megapixels would cost another 120 MB.
    ImageOps.exif_transpose(image, in_place=True)
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    as_png = source_format == "PNG" or (source_format == "WEBP" and has_alpha)
    if as_png:
        target = image if image.mode in _PNG_MODES else image.convert("RGBA")
        fmt, content_type, extension = "PNG", "image/png", "png"
        options: dict[str, object] = {}
    else:
        target = image if image.mode in _JPEG_MODES else image.convert("RGB")
        fmt, content_type, extension = "JPEG", "image/jpeg", "jpg"
        # Pillow would copy a JPEG's comment from `info` unless told otherwise.
        options = {"quality": _JPEG_QUALITY, "comment": b""}
    # Given always: Pillow would otherwise copy the source's profile from `info`,
    # even onto a converted image that it no longer fits.
    profile = image.info.get("icc_profile")
    options["icc_profile"] = profile if target.mode == image.mode else None
    out = io.BytesIO()
    target.save(out, format=fmt, **options)
    return StoredImage(out.getvalue(), content_type, extension, target.width, target.height)
