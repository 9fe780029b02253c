"""Artifact tests: the real `artifact.create` handler behind a real server, on both databases.

Unlike `tests/api`, nothing here installs scripted handlers: jobs run the real
generators (Markdown, outline, or the language model against the scripted
chat server of `tests.support.chat_server`, running in this process).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from pydantic import SecretStr

from nxdocs.settings import Settings
from nxdocs.system import build_system
from tests.support.artifacts import ArtifactApi, Caller, artifact_api
from tests.support.chat_server import API_KEY, MODEL, ChatServer

MakeApi = Callable[..., ArtifactApi]


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
