"""A scripted webhook receiver: a real HTTP server on 127.0.0.1, in threads.

Each request is recorded (path, headers, body) before it is answered, then
answered by the next reply of the script, or by the default reply once the
script is used up. Replies: a status (`status`), a body too large to read
(`big`), a redirect (`redirect`), no answer until the test ends (`hang`),
headers and then the body a byte at a time (`drip`), or the headers a byte at
a time (`drip_headers`). `stop()` takes the receiver down (connections
refused) and `start()` brings it back on the same port.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.server import free_port

Reply = Callable[["_Handler", "Receiver"], None]

RELEASE_SECONDS = 60.0
"""The longest a held reply (`hang`, `drip`) waits for the test to let it go."""


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes
    at: float
    """time.time() when the request had been read."""

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
    def reply(handler: _Handler, receiver: Receiver) -> None:
        handler.send_response(code)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return reply


def redirect(location: str, code: int = 302) -> Reply:
    return status(code, headers={"Location": location})


def big(size: int) -> Reply:
    """200 with a body of `size` bytes, written in chunks until the client hangs up."""

    def reply(handler: _Handler, receiver: Receiver) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        chunk = b"x" * 65_536
        sent = 0
        while sent < size:
            handler.wfile.write(chunk[: size - sent])
            sent += len(chunk)

    return reply


def hang() -> Reply:
    """Read the request, answer nothing until the receiver is closed."""

    def reply(handler: _Handler, receiver: Receiver) -> None:
        receiver.release.wait(RELEASE_SECONDS)

    return reply


def drip(interval: float = 0.05) -> Reply:
    """200 and headers at once, then one byte of body every `interval` seconds, for
    as long as the client reads."""

    def reply(handler: _Handler, receiver: Receiver) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        handler.wfile.flush()
        while not receiver.release.wait(interval):
            handler.wfile.write(b".")
            handler.wfile.flush()

    return reply


def drip_headers(seconds: float, interval: float = 0.05) -> Reply:
    """The status line at once, then a header one byte every `interval` seconds for
    `seconds`, never ending the headers (a client's read timeout alone never fires);
    then the connection is closed."""

    def reply(handler: _Handler, receiver: Receiver) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        handler.wfile.flush()
        until = time.monotonic() + seconds
        while time.monotonic() < until and not receiver.release.wait(interval):
            handler.wfile.write(b"x")
            handler.wfile.flush()
        handler.close_connection = True

    return reply


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = receiver._record(Received(self.path, headers, body, time.time()))
        # The client may hang up (an answer too big, a timeout): what the test wanted.
        with contextlib.suppress(OSError):
            reply(self, receiver)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, receiver: Receiver) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.receiver = receiver


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    default: Reply = field(default_factory=lambda: status(200, b"ok"))
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[Received] = field(default_factory=list)
    _script: deque[Reply] = field(default_factory=deque)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, then with `default`."""
        with self._changed:
            self._script.extend(replies)

    def always(self, reply: Reply) -> None:
        with self._changed:
            self.default = reply

    def _record(self, received: Received) -> Reply:
        with self._changed:
            self.requests.append(received)
            self._changed.notify_all()
            return self._script.popleft() if self._script else self.default

    def received(self) -> list[Received]:
        with self._changed:
            return list(self.requests)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The first `count` requests, once they have come; fails the test at the deadline."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(
                    f"the receiver got {len(self.requests)} request(s), not {count}, "
                    f"within {timeout}s"
                )
            return list(self.requests[:count])

    def start(self) -> None:
        self._server = _Server(self.port, self)
        # A short poll interval only makes stop() prompt; nothing waits on it.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until `start()`."""
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        self._server = self._thread = None

    def close(self) -> None:
        self.release.set()
        self.stop()
