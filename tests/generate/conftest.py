"""Fixtures for generator tests: a scripted chat-completions server and clients for it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest

from nxdocs.generate import LlmGenerator

from .chat_server import API_KEY, MODEL, ChatHTTPServer, ChatServer


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NXDOCS_* settings or proxies from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("NXDOCS_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """A scripted chat-completions server on 127.0.0.1, stopped after the test."""
    chat = ChatServer()
    server = ChatHTTPServer(chat)
    # A short poll interval only makes shutdown prompt; nothing waits on it.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="chat-server"
    )
    thread.start()
    chat.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield chat
    chat.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def make_llm(chat_server: ChatServer) -> Iterator[Callable[..., LlmGenerator]]:
    """Build generators pointed at `chat_server`; all are closed at teardown."""
    made: list[LlmGenerator] = []

    def make(
        *, timeout_seconds: float = 30.0, max_attempts: int = 3, base_url: str | None = None
    ) -> LlmGenerator:
        llm = LlmGenerator(
            base_url or chat_server.base_url, MODEL, API_KEY, timeout_seconds, max_attempts
        )
        made.append(llm)
        return llm

    yield make
    for llm in made:
        llm.close()
