"""Fixtures shared by the whole suite: clean environment, both databases, a system.

Storage and queue tests take the `database_url` fixture, parametrised over
SQLite (a file per test) and the real PostgreSQL (a schema per test in the
database named by TEST_POSTGRES_URL, which .ci/run creates fresh per run).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers
from tests.support.chat_server import ChatHTTPServer, ChatServer
from tests.support.clock import ManualClock

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit the developer's NXDOCS_* settings, nor proxies that
    would catch loopback calls."""
    for name in list(os.environ):
        if name.startswith("NXDOCS_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    """The scripted chat-completions stand-in on 127.0.0.1; held replies are let go at the end."""
    state = ChatServer()
    server = ChatHTTPServer(state)
    # A short poll interval only makes shutdown prompt; nothing waits on it.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="chat-server"
    )
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections see only a new, empty schema."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nxdocs.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        lease_seconds=30,
        max_attempts=3,
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.05,
        poll_interval_seconds=0.2,
        shutdown_grace_seconds=5,
    )


@pytest.fixture
def system(settings: Settings, clock: ManualClock) -> Iterator[System]:
    built = build_system(settings, clock=clock)
    handlers.install(built)  # engine tests run scripted handlers, not the real ones
    yield built
    built.close()
