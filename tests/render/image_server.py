"""A real threaded HTTP(S) image server on a loopback address, for the loader tests.

It records every request (path, Host header, TLS server name) and how many
were in flight at once. A route can run a hook before it answers: wait on an
event, move a test clock. Certificates come from the `openssl` command.
"""

from __future__ import annotations

import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Reply:
    """What a route answers; `before` runs first, in the server's thread."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "image/png"})
    before: Callable[[], object] | None = None
    declare_length: bool = True  # False: no Content-Length, the body ends with the connection


@dataclass(frozen=True)
class Seen:
    path: str
    host: str


class ImageServer:
    """Serves `routes` (path -> Reply); any other path is a 404."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.port = 0  # known once bound
        self.routes: dict[str, Reply] = {}
        self.requests: list[Seen] = []
        self.server_names: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def url(self, path: str, host: str | None = None, scheme: str = "http") -> str:
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def paths(self) -> list[str]:
        with self._lock:
            return [seen.path for seen in self.requests]

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(Seen(handler.path, handler.headers.get("Host", "")))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.routes.get(handler.path, Reply(404, b"not found", {}))
            if reply.before is not None:
                reply.before()
            _send(handler, reply)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up, as refusing loaders do
        finally:
            with self._lock:
                self.in_flight -= 1


def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    handler.send_response(reply.status)
    for name, value in reply.headers.items():
        handler.send_header(name, value)
    if reply.declare_length:
        handler.send_header("Content-Length", str(len(reply.body)))
    else:
        handler.close_connection = True
    handler.end_headers()
    handler.wfile.write(reply.body)


class _Httpd(ThreadingHTTPServer):
    def __init__(self, server: ImageServer, port: int) -> None:
        super().__init__((server.host, port), _Handler)
        self.image_server = server


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, _Httpd)
        self.server.image_server.answer(self)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@contextmanager
def image_server(
    host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[ImageServer]:
    """An `ImageServer` on `host:port` (a free port by default) until the block ends."""
    server = ImageServer(host)
    httpd = _Httpd(server, port)
    server.port = httpd.server_address[1]
    if tls is not None:
        tls.sni_callback = lambda _socket, name, _context: server.server_names.append(name)
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def self_signed_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate valid for the DNS name `name` only, and its key."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
