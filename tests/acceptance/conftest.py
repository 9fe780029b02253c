"""Fixtures of the acceptance tests that run a whole deployment: a key, the data
directory every process shares, the worker processes and the test's own reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.deployment import Site, create_key
from tests.support.worker_processes import WorkerProcesses


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def site(database_url: str, data_dir: Path, tmp_path: Path) -> Site:
    return Site(database_url, data_dir, tmp_path, create_key(database_url, data_dir))


@pytest.fixture
def children(database_url: str, data_dir: Path, tmp_path: Path) -> Iterator[WorkerProcesses]:
    """Harness workers (or `nxdocs worker`) on the test's database and data directory."""
    with closing(WorkerProcesses(tmp_path, database_url, data_dir)) as started:
        yield started


@pytest.fixture
def reads(database_url: str) -> Iterator[sa.Engine]:
    """The test's own reads of the tables; pre-ping drops connections the restart cut."""
    engine = sa.create_engine(database_url, pool_pre_ping=True)
    yield engine
    engine.dispose()
