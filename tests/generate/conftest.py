"""Fixtures for generator tests: a scripted chat-completions server and clients for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from nxdocs.generate import LlmGenerator
from tests.support.chat_server import API_KEY, MODEL, ChatServer


@pytest.fixture
def make_llm(chat: ChatServer) -> Iterator[Callable[..., LlmGenerator]]:
    """Build generators pointed at `chat`; all are closed at teardown."""
    made: list[LlmGenerator] = []

    def make(
        *, timeout_seconds: float = 30.0, max_attempts: int = 3, base_url: str | None = None
    ) -> LlmGenerator:
        llm = LlmGenerator(base_url or chat.base_url, MODEL, API_KEY, timeout_seconds, max_attempts)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        llm.close()
