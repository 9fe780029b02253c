"""Fixtures shared by the whole suite: clean environment, both databases, a system, a served API.

Storage and queue tests take the `database_url` fixture, parametrised over
SQLite (a file per test) and the real PostgreSQL (a schema per test in the
database named by TEST_POSTGRES_URL, which .ci/run creates fresh per run).
The artifact and export tests take `make_api` (or `api`, `alice`, `bob`): a
system with the real handlers, served from `api_settings`.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers
from tests.support.api import Caller, MakeApi, ServedApi, api_maker
from tests.support.chat_server import ChatHTTPServer, ChatServer
from tests.support.clock import ManualClock
from tests.support.export_samples import PNG_DPI
from tests.support.migrated import MigratedTemplates, migrated_templates

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


@contextmanager
def _new_schema() -> Iterator[str]:
    """A new, empty PostgreSQL schema, dropped at the end; its name."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _schema_url(schema: str) -> str:
    """A URL whose connections see only `schema`."""
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A new, empty schema's name."""
    with _new_schema() as schema:
        yield schema


@pytest.fixture
def postgres_schema_url(postgres_schema: str) -> str:
    """A URL whose connections see only a new, empty schema."""
    return _schema_url(postgres_schema)


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    """What the migrations make, made once per test process (tests/support/migrated.py)."""
    with _new_schema() as schema:
        yield migrated_templates(tmp_path_factory.mktemp("migrated"), _schema_url(schema))


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated: MigratedTemplates
) -> str:
    """A migrated database of the test's own: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return migrated.sqlite_copy(tmp_path / "nxdocs.db")
    schema: str = request.getfixturevalue("postgres_schema")
    migrated.fill_postgres_schema(_libpq(POSTGRES_URL), schema)
    return _schema_url(schema)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the test's own, for the migrations' tests."""
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


@pytest.fixture
def api_system(settings: Settings) -> Iterator[System]:
    """An in-process API's system, with scripted handlers held until released."""
    system = build_system(settings.model_copy(update={"auth_cache_seconds": 0}))
    handlers.install(system)
    handlers.RELEASE.clear()
    yield system
    handlers.RELEASE.set()
    system.close()


@pytest.fixture
def real(settings: Settings) -> Iterator[System]:
    """A system with the real handlers (none scripted) and no worker running."""
    system = build_system(settings)
    yield system
    system.close()


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    """What `make_api` builds its systems from: the test's settings, keys never cached.

    Timed for renders, which take a while: a minute's waits, low-DPI PNGs, and one
    slow attempt per request to a language model. A suite's conftest may override it
    (taking this one as its argument)."""
    return settings.model_copy(
        update={
            "auth_cache_seconds": 0,
            "shutdown_grace_seconds": 2,
            "sync_wait_seconds": 60,
            "png_dpi": PNG_DPI,
            "llm_timeout_seconds": 60.0,
            "llm_max_attempts": 1,
        }
    )


@pytest.fixture
def make_api(api_settings: Settings) -> Iterator[MakeApi]:
    """Serve systems built from `api_settings` plus overrides; all stopped at teardown."""
    with api_maker(api_settings) as make:
        yield make


@pytest.fixture
def api(make_api: MakeApi) -> ServedApi:
    """The default server: embedded worker, real handlers, no language model."""
    return make_api()


@pytest.fixture
def alice(api: ServedApi) -> Caller:
    return api.caller("alice")


@pytest.fixture
def bob(api: ServedApi) -> Caller:
    return api.caller("bob")
