"""Downloads under hostile conditions: their headers, odd files in the blob directory,
and the cap on an html export's inline `content`. On SQLite and PostgreSQL.

The blob directory is the real one the served system writes; the test swaps
an export's file for a symlink, a FIFO or a folder, as a careless
operator or another local user could, and puts it back.
"""

from __future__ import annotations

import base64
import io
import os
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from nxdocs.api.files import HTML_CONTENT_SECURITY_POLICY
from nxdocs.exports.links import INLINE_CONTENT_MAX_BYTES
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.export_samples import PRESENTATION
from tests.support.exports import CONTENT_TYPES, assert_hosted_export


def assert_gone(response: httpx.Response) -> None:
    assert response.status_code == 410, response.text
    assert response.json()["error"]["code"] == "LINK_EXPIRED"


def test_every_download_says_nosniff_and_the_html_file_gets_a_strict_csp(
    api: ServedApi, alice: Caller, anonymous: httpx.Client
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)
    for fmt in ("pdf", "pptx", "png", "html"):
        export = alice.export(artifact["id"], fmt)
        response = anonymous.get(export["download_url"])
        assert response.status_code == 200, response.text
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-type"] == CONTENT_TYPES[fmt]
        assert response.headers["content-disposition"].startswith("attachment;")
        (path,) = api.export_files(export["id"])
        assert int(response.headers["content-length"]) == path.stat().st_size
        assert response.content == path.read_bytes()
        if fmt == "html":
            assert response.headers["content-security-policy"] == HTML_CONTENT_SECURITY_POLICY
            assert response.text == export["content"]
        else:
            assert "content-security-policy" not in response.headers


def test_the_csp_forbids_scripts_and_remote_loads() -> None:
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in HTML_CONTENT_SECURITY_POLICY.split("; ")
    )
    assert directives["default-src"] == ["'none'"]  # scripts, connections, frames, media...
    assert "script-src" not in directives
    assert directives["style-src"] == ["'unsafe-inline'"]
    assert directives["img-src"] == ["data:"]
    assert directives["font-src"] == ["data:"]
    assert directives["form-action"] == ["'none'"]
    assert "sandbox" in directives


@contextmanager
def swapped(path: Path, make_trap: Callable[[Path], object]) -> Iterator[None]:
    """`path` replaced by what `make_trap` puts there, for the block; then put back."""
    aside = path.with_name(path.name + ".aside")
    path.rename(aside)
    make_trap(path)
    try:
        yield
    finally:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        else:
            path.unlink()
        aside.rename(path)


def fifo(path: Path) -> None:
    os.mkfifo(path)


def traps(other_file: Path) -> dict[str, Callable[[Path], object]]:
    return {
        "symlink to a file of the store": lambda path: path.symlink_to(other_file),
        "symlink out of the store": lambda path: path.symlink_to("/etc/hostname"),
        "dangling symlink": lambda path: path.symlink_to(path.with_name("nowhere")),
        "fifo": fifo,
        "folder": lambda path: path.mkdir(),
    }


def test_a_symlink_or_unreadable_file_in_the_blob_directory_is_410(
    api: ServedApi, alice: Caller, anonymous: httpx.Client
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)
    export = alice.export(artifact["id"], "html")
    other = alice.export(artifact["id"], "html")
    (path,) = api.export_files(export["id"])
    (other_file,) = api.export_files(other["id"])
    link = export["download_url"]

    for name, make_trap in traps(other_file).items():
        with swapped(path, make_trap):
            response = anonymous.get(link)
            assert response.status_code == 410, (name, response.text)
            assert response.json()["error"]["code"] == "LINK_EXPIRED", name
            shown = alice.ok(f"/v1/exports/{export['id']}")
            assert shown["content"] is None, name  # nothing inlined, and no 500
        assert anonymous.get(link).text == export["content"], name

    # A symlinked folder on the way to the file is refused too.
    folder = path.parent
    with swapped(folder, lambda moved: moved.symlink_to(folder.with_name(folder.name + ".aside"))):
        assert path.exists()  # through the symlink, the file is there
        assert_gone(anonymous.get(link))
    assert anonymous.get(link).status_code == 200


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_a_file_nxdocs_may_not_read_is_410(
    api: ServedApi, alice: Caller, anonymous: httpx.Client
) -> None:
    export = alice.export(alice.ready_artifact(PRESENTATION)["id"], "pdf")
    (path,) = api.export_files(export["id"])
    path.chmod(0)
    try:
        assert_gone(anonymous.get(export["download_url"]))
    finally:
        path.chmod(0o600)
    assert anonymous.get(export["download_url"]).status_code == 200


def noise_png_data_uri(min_bytes: int) -> str:
    """A PNG of random pixels (which do not compress) of at least `min_bytes`."""
    side = int((min_bytes / 3) ** 0.5) + 1
    pixels = random.Random(7).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, format="PNG")
    assert len(out.getvalue()) >= min_bytes
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def test_inline_content_of_an_html_export_is_capped(
    make_api: MakeApi, anonymous: httpx.Client
) -> None:
    # Room in the request for an image that makes the HTML larger than the cap.
    api = make_api(max_content_bytes=4_000_000, max_request_bytes=5_000_000)
    caller = api.caller()
    image = noise_png_data_uri(INLINE_CONTENT_MAX_BYTES * 3 // 4)
    big = caller.ready_artifact(
        {"type": "document", "name": "Big", "content": f"# Big\n\n![noise]({image})\n"}
    )
    small = caller.ready_artifact({"type": "document", "name": "Small", "content": "# Small\n"})

    large = caller.export(big["id"], "html")
    modest = caller.export(small["id"], "html")

    (large_file,) = api.export_files(large["id"])
    assert large_file.stat().st_size > INLINE_CONTENT_MAX_BYTES
    assert large["content"] is None
    assert large["download_url"] is not None
    downloaded = anonymous.get(large["download_url"])
    assert downloaded.content == large_file.read_bytes()
    assert image.encode() in downloaded.content
    assert caller.ok(f"/v1/exports/{large['id']}")["content"] is None
    # Under the cap, the HTML is inline as before.
    assert_hosted_export(modest, "completed", base_url=api.base_url)
    assert modest["content"] == anonymous.get(modest["download_url"]).text
