"""An in-process API's system, with scripted handlers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers


@pytest.fixture
def api_system(settings: Settings) -> Iterator[System]:
    system = build_system(settings.model_copy(update={"auth_cache_seconds": 0}))
    handlers.install(system)
    handlers.RELEASE.clear()
    yield system
    handlers.RELEASE.set()
    system.close()
