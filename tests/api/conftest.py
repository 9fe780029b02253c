"""An in-process API on each database, with scripted handlers and a worker."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from nxdocs.api.app import NxdocsApp, create_app
from nxdocs.system import System
from tests.support.server import checked_client


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
