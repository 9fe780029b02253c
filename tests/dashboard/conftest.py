"""One served API per module and database, shared by its tests; each test makes its own owners.

The dashboard's HTTP tests only read and cancel their own owners' jobs, so
a server per module (not per test) keeps them fast without tying them together.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from nxdocs.settings import Settings
from tests.conftest import BACKENDS, POSTGRES_URL
from tests.dashboard.support import Visitor
from tests.support.api import ServedApi, api_maker


@pytest.fixture(scope="module", params=BACKENDS)
def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database for the module: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'nxdocs.db'}"
        return
    admin_url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module")
def served(module_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    """The module's server: real handlers, keys never cached, and no worker of its own:
    a job stays processing until a test runs one (`ServedApi.worker`)."""
    with pytest.MonkeyPatch.context() as env:
        # Built before the per-test fixture that clears NXDOCS_* runs: cleared here too.
        for name in list(os.environ):
            if name.startswith("NXDOCS_"):
                env.delenv(name)
        settings = Settings(
            database_url=module_database,
            data_dir=Path(tmp_path_factory.mktemp("dashboard-data")),
            max_attempts=3,
            poll_interval_seconds=0.2,
            shutdown_grace_seconds=2,
            auth_cache_seconds=0,
            sync_wait_seconds=60,
            png_dpi=50,
        )
    with api_maker(settings) as make:
        yield make(embedded_worker=False)


@pytest.fixture
def visitor(served: ServedApi) -> Iterator[Visitor]:
    """A browser with no cookies yet."""
    made = Visitor.of(served.base_url)
    yield made
    made.close()
