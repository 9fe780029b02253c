"""One reading of the database URL: which backend, and which file for SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from nxdocs.db.backend import Backend, Database, UnsupportedDatabaseError


def test_a_sqlite_file_url_names_its_file() -> None:
    database = Database.from_url("sqlite:////var/lib/nxdocs/nxdocs.db")
    assert (database.backend, database.sqlite_path) == (
        Backend.SQLITE,
        Path("/var/lib/nxdocs/nxdocs.db"),
    )
    assert database.described() == "sqlite:////var/lib/nxdocs/nxdocs.db"


def test_a_postgresql_url_has_no_file_and_is_described_without_credentials() -> None:
    database = Database.from_url("postgresql+psycopg://user:secret@db.example:5432/nxdocs")
    assert (database.backend, database.sqlite_path) == (Backend.POSTGRESQL, None)
    assert database.described() == "db.example:5432/nxdocs"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://"])
def test_sqlite_without_a_file_is_refused(url: str) -> None:
    # Every process and connection must see one database; in memory, each has its own.
    with pytest.raises(UnsupportedDatabaseError, match="SQLite needs a file"):
        Database.from_url(url)


@pytest.mark.parametrize("url", ["mysql://user@host/db", "not a url"])
def test_other_databases_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseError):
        Database.from_url(url)
