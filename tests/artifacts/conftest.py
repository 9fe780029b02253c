"""Artifact tests: the real `artifact.create` handler behind a real server, on both databases.

Unlike `tests/api`, nothing here installs scripted handlers: jobs run the real
generators (Markdown, outline, or the language model against the scripted
chat server of `tests.generate.chat_server`, running in this process).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from pydantic import SecretStr

from nxdocs.settings import Settings
from nxdocs.system import build_system
from tests.generate.chat_server import API_KEY, MODEL, ChatHTTPServer, ChatServer
from tests.support.artifacts import ArtifactApi, Caller, artifact_api

MakeApi = Callable[..., ArtifactApi]


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback calls (ours, a worker's to the chat server) never go through a proxy."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    """The scripted chat-completions stand-in on 127.0.0.1; held replies are let go at the end."""
    server_state = ChatServer()
    server = ChatHTTPServer(server_state)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="chat-server"
    )
    thread.start()
    server_state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield server_state
    server_state.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def llm_settings(chat: ChatServer, **overrides: Any) -> dict[str, Any]:
    """Settings that point the language-model generator at `chat`."""
    return {
        "llm_base_url": chat.base_url,
        "llm_model": MODEL,
        "llm_api_key": SecretStr(API_KEY),
        "llm_timeout_seconds": 10.0,
        "llm_max_attempts": 2,
        **overrides,
    }


@pytest.fixture
def make_api(settings: Settings) -> Iterator[MakeApi]:
    """Serve a system built from the test's settings plus overrides; all stopped at teardown.

    With `llm=<chat server>` the system generates prompt-only requests with the
    language model; held replies are released before the server (and its
    embedded worker) stops, so shutdown never waits on them.
    """
    stack = ExitStack()
    held: list[ChatServer] = []

    def make(
        *, llm: ChatServer | None = None, embedded_worker: bool = True, **overrides: Any
    ) -> ArtifactApi:
        update: dict[str, Any] = {
            "auth_cache_seconds": 0,
            "shutdown_grace_seconds": 1,
            "sync_wait_seconds": 30,
        }
        if llm is not None:
            update.update(llm_settings(llm))
            held.append(llm)
        update.update(overrides)
        system = build_system(settings.model_copy(update=update))
        stack.callback(system.close)
        return stack.enter_context(artifact_api(system, embedded_worker=embedded_worker))

    with stack:
        yield make
        for chat_server in held:
            chat_server.release.set()


@pytest.fixture
def api(make_api: MakeApi) -> ArtifactApi:
    """The default server: embedded worker, no language model (prompts get outlines)."""
    return make_api()


@pytest.fixture
def alice(api: ArtifactApi) -> Caller:
    return api.caller("alice")


@pytest.fixture
def bob(api: ArtifactApi) -> Caller:
    return api.caller("bob")
