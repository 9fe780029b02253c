"""Export tests: the real `artifact.create` and `export.run` handlers behind a real server.

Unlike `tests/api`, nothing here installs scripted handlers: artifacts are
generated from Markdown (or by the scripted chat server standing in for a
language model) and exports are rendered by the real renderers, then fetched
over HTTP through their signed `download_url`, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from nxdocs.clock import Clock
from nxdocs.settings import Settings
from nxdocs.system import build_system
from tests.support.chat_server import API_KEY, MODEL, ChatServer
from tests.support.exports import (
    PNG_DPI,
    Caller,
    ExportApi,
    MakeApi,
    contract_client,
    export_api,
)
from tests.support.server import free_port


@pytest.fixture
def make_api(settings: Settings) -> Iterator[MakeApi]:
    """Serve a system built from the test's settings plus overrides; all stopped at teardown.

    The server listens on the port its settings name, so the download links it
    signs (`http://<host>:<port>/v1/files/...`, the default public URL) reach it.
    `clock` injects a clock (a `ManualClock` to expire links or retention);
    `llm` points prompt-only artifacts at a scripted chat server.
    """
    stack = ExitStack()
    held: list[ChatServer] = []

    def make(
        *,
        clock: Clock | None = None,
        llm: ChatServer | None = None,
        embedded_worker: bool = True,
        **overrides: Any,
    ) -> ExportApi:
        update: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": free_port(),
            "auth_cache_seconds": 0,
            "shutdown_grace_seconds": 2,
            "sync_wait_seconds": 60,
            "png_dpi": PNG_DPI,
        }
        if llm is not None:
            held.append(llm)
            update.update(
                llm_base_url=llm.base_url,
                llm_model=MODEL,
                llm_api_key=SecretStr(API_KEY),
                llm_timeout_seconds=60.0,
                llm_max_attempts=1,
            )
        update.update(overrides)
        system = build_system(settings.model_copy(update=update), clock=clock)
        stack.callback(system.close)
        return stack.enter_context(export_api(system, embedded_worker=embedded_worker))

    with stack:
        yield make
        for chat_server in held:
            chat_server.release.set()


@pytest.fixture
def api(make_api: MakeApi) -> ExportApi:
    """The default server: embedded worker, real handlers, no language model."""
    return make_api()


@pytest.fixture
def alice(api: ExportApi) -> Caller:
    return api.caller("alice")


@pytest.fixture
def bob(api: ExportApi) -> Caller:
    return api.caller("bob")


@pytest.fixture
def anonymous() -> Iterator[httpx.Client]:
    """A client with no API key at all, as a browser following a download link."""
    with contract_client() as http:
        yield http
