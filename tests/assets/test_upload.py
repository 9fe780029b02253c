"""`POST /v1/assets`: what an upload may be, what is stored of it, and its signed link.

Every test runs on SQLite and on PostgreSQL, against the served API.
"""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from nxdocs.db.schema import assets
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.contract import timestamp_ms

from .samples import (
    MARK,
    SVG,
    assert_invalid,
    image_bytes,
    near_mark,
    png_header_claiming,
    upload,
    uploaded,
)

ASSET_FIELDS = {
    "id",
    "object",
    "type",
    "name",
    "content_type",
    "width",
    "height",
    "size",
    "brand_id",
    "url",
    "created_at",
    "updated_at",
}


def stored(anonymous: httpx.Client, asset: dict[str, Any]) -> Image.Image:
    """The image behind the asset's signed url, fetched without a key."""
    response = anonymous.get(asset["url"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == asset["content_type"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert int(response.headers["content-length"]) == asset["size"] == len(response.content)
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/jpeg")],
)
def test_png_jpeg_and_webp_are_stored_as_png_or_jpeg(
    alice: Caller, anonymous: httpx.Client, fmt: str, content_type: str
) -> None:
    # The client's content type is not looked at: only the bytes decide.
    response = upload(alice, image_bytes(fmt), "pic.bin", "application/octet-stream")

    assert response.status_code == 201, response.text
    asset = response.json()
    assert set(asset) == ASSET_FIELDS
    assert asset["id"].startswith("asset_")
    assert (asset["object"], asset["type"], asset["name"]) == ("asset", "photo", "pic.bin")
    assert (asset["content_type"], asset["width"], asset["height"]) == (content_type, 64, 48)
    assert asset["brand_id"] is None
    assert timestamp_ms(asset["created_at"]) == timestamp_ms(asset["updated_at"])
    image = stored(anonymous, asset)
    assert image.size == (64, 48)
    assert near_mark(image.convert("RGB").getpixel((5, 5)))


def test_webp_with_transparency_is_kept_as_png(alice: Caller) -> None:
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (*MARK, 128)).save(out, format="WEBP")

    assert uploaded(alice, out.getvalue())["content_type"] == "image/png"


def test_type_and_name_are_taken_and_metadata_is_dropped(
    alice: Caller, anonymous: httpx.Client
) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x0112] = 6  # Orientation: turned 90 degrees
    data = image_bytes("JPEG", exif=exif.tobytes())

    asset = uploaded(alice, data, type="icon", name="Company logo")

    assert (asset["type"], asset["name"]) == ("icon", "Company logo")
    # Turned upright by its orientation, then stored without any EXIF.
    assert (asset["width"], asset["height"]) == (48, 64)
    image = stored(anonymous, asset)
    assert not image.getexif()
    assert "exif" not in image.info


def test_svg_is_refused(alice: Caller, api: ServedApi) -> None:
    message = assert_invalid(upload(alice, SVG, "logo.svg", "image/svg+xml"), "file")

    assert "SVG" in message
    assert api.count(assets) == 0


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not an image at all",
        image_bytes("GIF"),
        image_bytes("BMP"),
        image_bytes("PNG")[:-40],
        image_bytes("JPEG", size=(300, 200), quality=95)[:-200],
        image_bytes("WEBP", size=(300, 200))[:60],
    ],
    ids=["empty", "text", "gif", "bmp", "cut-png", "cut-jpeg", "cut-webp"],
)
def test_malformed_truncated_or_other_formats_are_refused(
    alice: Caller, api: ServedApi, data: bytes
) -> None:
    assert_invalid(upload(alice, data), "file")
    assert api.count(assets) == 0


def test_a_50_megapixel_image_is_refused_from_its_header(alice: Caller, api: ServedApi) -> None:
    # Its header claims 8000 x 6250; nothing past it could be decoded.
    message = assert_invalid(upload(alice, png_header_claiming(8000, 6250)), "file")

    assert "8000x6250" in message
    # Far past Pillow's own decompression-bomb bound as well.
    assert_invalid(upload(alice, png_header_claiming(30000, 30000)), "file")
    assert api.count(assets) == 0


def test_a_real_image_over_the_pixel_limit_is_refused(make_api: MakeApi) -> None:
    served = make_api(asset_max_pixels=1000)
    alice = served.caller()
    # A palette image of one colour: a few hundred bytes for 2,500 pixels.
    small_file = image_bytes("PNG", size=(50, 50))

    assert len(small_file) < 1000
    assert_invalid(upload(alice, small_file), "file")
    assert upload(alice, image_bytes("PNG", size=(40, 25))).status_code == 201


def test_a_file_or_body_over_the_size_limit_is_413(make_api: MakeApi) -> None:
    served = make_api(asset_max_bytes=20_000)
    alice = served.caller()
    noisy = Image.frombytes("L", (200, 200), bytes(range(256)) * 156 + bytes(64))
    out = io.BytesIO()
    noisy.save(out, format="PNG", compress_level=0)
    too_big = out.getvalue()
    assert 20_000 < len(too_big) < 20_000 + 64 * 1024  # the file, not the body, is too big

    for data in (too_big, too_big + bytes(200_000)):
        response = upload(alice, data)
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert served.count(assets) == 0
    assert upload(alice, image_bytes("PNG")).status_code == 201


def test_the_default_10_megabyte_limit(alice: Caller) -> None:
    # 10 MB of file bytes are read; one more is not. (Refused as an image or for
    # its size: what matters is that the body limit lets the form through.)
    at_limit = upload(alice, b"\0" * 10_000_000)
    over = upload(alice, b"\0" * 10_000_001)

    assert_invalid(at_limit, "file")
    assert over.status_code == 413, over.text


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"file": "x"}', {"content-type": "application/json"}),
        (b"file=x", {"content-type": "application/x-www-form-urlencoded"}),
        (b"", {}),
    ],
)
def test_a_body_that_is_not_multipart_is_415(
    alice: Caller, content: bytes, headers: dict[str, str]
) -> None:
    response = alice.post("/v1/assets", content=content, headers=headers)

    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_form_problems_are_400_naming_the_field(alice: Caller) -> None:
    png = image_bytes("PNG")
    assert_invalid(alice.post("/v1/assets", files={"other": ("a.png", png)}), "file")
    # The image as a plain field, not a file part.
    assert_invalid(alice.post("/v1/assets", data={"file": "abc"}, files={"x": b""}), "file")
    assert_invalid(upload(alice, png, type="video"), "type")
    assert_invalid(upload(alice, png, type="banner"), "type")
    assert_invalid(upload(alice, png, name=""), "name")
    assert_invalid(upload(alice, png, name="a\x00b"), "name")
    assert_invalid(upload(alice, png, name="x" * 256), "name")
    assert_invalid(upload(alice, png, brand_id="brand_a\x00b"), "brand_id")
    assert_invalid(upload(alice, png, colour="red"), "colour")
    two_files = alice.post("/v1/assets", files=[("file", ("a.png", png)), ("file", ("b.png", png))])
    assert_invalid(two_files, "body")
    garbled = alice.post(
        "/v1/assets",
        content=b"--xyz\r\nnot a part header\r\n",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert garbled.status_code == 400, garbled.text
    no_boundary = alice.post(
        "/v1/assets", content=b"abc", headers={"content-type": "multipart/form-data"}
    )
    assert_invalid(no_boundary, "body")


def test_a_name_defaults_to_the_file_name_without_its_folders(alice: Caller) -> None:
    png = image_bytes("PNG")

    assert uploaded(alice, png)["name"] == "logo.png"
    response = upload(alice, png, "C:\\Users\\ada\\Pictures\\team photo.png")
    assert response.json()["name"] == "team photo.png"
    assert upload(alice, png, "photos/").json()["name"] == "image"


def test_brand_id_on_upload_must_be_the_owners(alice: Caller, bob: Caller, api: ServedApi) -> None:
    own = api.system.brands.create(alice.owner_id, "Acme", None, None)
    other = api.system.brands.create(bob.owner_id, "Bob's", None, None)

    assert uploaded(alice, brand_id=own.id)["brand_id"] == own.id
    assert_invalid(upload(alice, image_bytes("PNG"), brand_id=other.id), "brand_id")
    assert_invalid(upload(alice, image_bytes("PNG"), brand_id="brand_nosuchbrand"), "brand_id")


def test_org_id_stores_the_asset_in_the_organization(
    alice: Caller, bob: Caller, api: ServedApi
) -> None:
    org = api.system.organizations.create("Acme", alice.owner_id)

    asset = uploaded(alice, org_id=org.id)

    rows = api.rows(assets)
    assert [(row["id"], row["owner_id"]) for row in rows] == [(asset["id"], org.id)]
    listed = alice.ok(f"/v1/assets?org_id={org.id}")["data"]
    assert [{**item, "url": None} for item in listed] == [{**asset, "url": None}]
    assert alice.ok(f"/v1/assets/{asset['id']}")["id"] == asset["id"]
    assert alice.ok("/v1/assets")["data"] == []  # the caller's own space holds none
    # Bob is no member: as if there were no such organization.
    refused = upload(bob, image_bytes("PNG"), org_id=org.id)
    assert refused.status_code == 404, refused.text
    assert upload(alice, image_bytes("PNG"), org_id="org_nosuchorg").status_code == 404
    assert len(api.rows(assets)) == 1


def test_the_signed_url_is_refused_when_tampered_and_gone_after_delete(
    alice: Caller, anonymous: httpx.Client
) -> None:
    asset = uploaded(alice)
    url = asset["url"]
    assert "/v1/files/" + asset["id"] + "/" in url

    tampered = anonymous.get(url[:-1] + ("0" if url[-1] != "0" else "1"))
    assert tampered.status_code == 403, tampered.text
    renamed = anonymous.get(url.replace("/logo.png?", "/other.png?"))
    assert renamed.status_code == 404, renamed.text
    assert alice.delete(f"/v1/assets/{asset['id']}").status_code == 200
    gone = anonymous.get(url)
    assert gone.status_code == 410, gone.text
    assert gone.json()["error"]["code"] == "LINK_EXPIRED"
