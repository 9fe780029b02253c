"""`HttpImageLoader` against a real HTTP server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nxdocs.pages.model import Document, ImageBlock, Page
from nxdocs.render import HttpImageLoader, render_html
from nxdocs.render.themes import Theme

from .samples import png_bytes

IMAGE = png_bytes((50, 40))
BIG = b"\x89PNG" + b"\x00" * 5000


class _Handler(BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path == "/image.png":
            self._send(200, IMAGE, {"Content-Type": "image/png"})
        elif self.path == "/redirect":
            self._send(302, b"", {"Location": "/image.png"})
        elif self.path == "/big-declared":
            self._send(200, BIG, {"Content-Type": "image/png"})
        elif self.path == "/big-undeclared":
            self._send(200, BIG, {"Content-Type": "image/png"}, declare_length=False)
        elif self.path == "/slow":
            time.sleep(0.6)
            self._send(200, IMAGE, {"Content-Type": "image/png"})
        else:
            self._send(404, b"not found", {"Content-Type": "text/plain"})

    def _send(
        self, status: int, body: bytes, headers: dict[str, str], *, declare_length: bool = True
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if declare_length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def loader() -> Iterator[HttpImageLoader]:
    with HttpImageLoader(timeout=0.3, max_bytes=1000, allow_private_hosts=True) as loader:
        yield loader


def test_fetches_an_image(server: tuple[str, list[str]], loader: HttpImageLoader) -> None:
    base, _ = server
    assert loader(f"{base}/image.png") == (IMAGE, "image/png")


def test_follows_redirects(server: tuple[str, list[str]], loader: HttpImageLoader) -> None:
    base, _ = server
    assert loader(f"{base}/redirect") == (IMAGE, "image/png")


@pytest.mark.parametrize("path", ["/missing", "/big-declared", "/big-undeclared", "/slow"])
def test_failures_give_none(
    server: tuple[str, list[str]], loader: HttpImageLoader, path: str
) -> None:
    base, _ = server
    assert loader(f"{base}{path}") is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x.png", "data:,x"])
def test_only_http_urls_are_fetched(loader: HttpImageLoader, url: str) -> None:
    assert loader(url) is None


def test_private_hosts_are_refused_by_default(server: tuple[str, list[str]]) -> None:
    base, requests = server
    before = len(requests)
    with HttpImageLoader(timeout=0.5, max_bytes=1000) as loader:
        assert loader(f"{base}/image.png") is None
        assert loader(f"http://localhost:{base.rsplit(':', 1)[1]}/image.png") is None
    assert len(requests) == before


def test_html_embeds_fetched_images_and_marks_failed_ones(
    server: tuple[str, list[str]], loader: HttpImageLoader, theme: Theme
) -> None:
    base, _ = server
    document = Document(
        type="presentation",
        title="Remote",
        pages=[
            Page(
                blocks=[
                    ImageBlock(src=f"{base}/image.png", alt="fetched"),
                    ImageBlock(src=f"{base}/missing", alt="Lost picture"),
                ]
            )
        ],
    )
    html = render_html(document, theme, image_loader=loader)
    assert 'src="data:image/png;base64,' in html
    assert base not in html
    assert '<div class="image-missing" role="img" aria-label="Lost picture">' in html
