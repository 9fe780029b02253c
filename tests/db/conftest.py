"""A whole new PostgreSQL database, for tests of what happens before any schema exists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL


def _plain_url(database: str) -> str:
    """The test server's URL for `database`, written as platforms hand them out."""
    url = make_url(POSTGRES_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new, empty database on the test server, as a `postgresql://` URL; dropped after."""
    name = f"nxdocs_fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _plain_url(name)
    finally:
        with psycopg.connect(_plain_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
