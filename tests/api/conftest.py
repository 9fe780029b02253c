"""An in-process API on each database, with scripted handlers and a worker."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from nxdocs.api.app import NxdocsApp, create_app
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers
from tests.support.server import checked_client


@pytest.fixture
def api_system(settings: Settings) -> Iterator[System]:
    system = build_system(settings.model_copy(update={"auth_cache_seconds": 0}))
    handlers.install(system)
    handlers.RELEASE.clear()
    yield system
    handlers.RELEASE.set()
    system.close()


@pytest.fixture
def app(api_system: System) -> NxdocsApp:
    return create_app(api_system)


@pytest.fixture
def client(app: NxdocsApp) -> Iterator[httpx.Client]:
    """A client of the app served by a real uvicorn; every response is contract-checked."""
    with checked_client(app) as http:
        yield http


@pytest.fixture
def key(api_system: System) -> str:
    return api_system.keys.create("test").secret


@pytest.fixture
def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
