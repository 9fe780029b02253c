"""A real chat-completions server on loopback, scripted by the test.

The server answers from a script the test writes (`ChatServer.script`) and
records every request it gets. A `Reply(hang=True)` answers only once the
test is over (the fixture sets `release` at teardown), so a client with a
short timeout is sure to time out, however fast or slow the machine is.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-test-0123456789abcdef"
MODEL = "test-model"


@dataclass(frozen=True)
class Reply:
    """One scripted answer: an HTTP status, body and extra headers, optionally held back."""

    status: int = 200
    body: bytes = b""
    hang: bool = False
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def content(cls, text: str) -> Reply:
        """A chat completion whose message content is `text`."""
        envelope = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
        }
        return cls(body=json.dumps(envelope).encode())

    @classmethod
    def document(cls, document: dict[str, Any]) -> Reply:
        """A chat completion whose content is `document` as JSON."""
        return cls.content(json.dumps(document))


@dataclass(frozen=True)
class Received:
    """A request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ChatServer:
    """The scripted server's state, shared with its handler threads."""

    base_url: str = ""
    replies: list[Reply] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with `replies`, in order."""
        with self.lock:
            self.replies.extend(replies)

    def take(self, received: Received) -> Reply:
        """Record a request and hand out the next scripted reply."""
        with self.lock:
            self.received.append(received)
            if self.replies:
                return self.replies.pop(0)
        return Reply(status=500, body=b'{"error": "no scripted reply left"}')


class ChatHTTPServer(ThreadingHTTPServer):
    # Join handler threads on close, so none outlives the test.
    daemon_threads = False
    block_on_close = True

    def __init__(self, chat: ChatServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.chat = chat


class _Handler(BaseHTTPRequestHandler):
    server: ChatHTTPServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.chat.take(Received(path=self.path, headers=headers, body=body))
        if reply.hang:
            self.server.chat.release.wait()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            pass  # the client gave up (a timeout test): nobody left to answer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; the test asserts on `received` instead."""
