"""Which database a URL names, decided once.

Everything that differs between SQLite and PostgreSQL (the engine's set-up,
the claim statement, the notifier, the poll route's reader, the readiness
probe) asks the one `Database` built from the configured URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class UnsupportedDatabaseError(ValueError):
    """The URL names no database nxdocs can run on."""


@dataclass(frozen=True)
class Database:
    url: str
    backend: Backend
    sqlite_path: Path | None
    """The database file; set exactly when the backend is SQLite."""

    @classmethod
    def from_url(cls, url: str) -> Database:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise UnsupportedDatabaseError("the database URL cannot be parsed") from None
        name = parsed.get_backend_name()
        if name == Backend.POSTGRESQL:
            return cls(url, Backend.POSTGRESQL, None)
        if name != Backend.SQLITE:
            raise UnsupportedDatabaseError(f"nxdocs runs on SQLite or PostgreSQL, not {name!r}")
        # Workers, API threads and other processes share the database through
        # its file; an in-memory database would be one private copy per connection.
        if not parsed.database or parsed.database == ":memory:":
            raise UnsupportedDatabaseError(
                "SQLite needs a file: sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        return cls(url, Backend.SQLITE, Path(parsed.database))

    @property
    def is_sqlite(self) -> bool:
        return self.backend is Backend.SQLITE

    def described(self) -> str:
        """For the console: a SQLite file's URL, or PostgreSQL's host and database
        (never the user or password)."""
        return self.url if self.is_sqlite else self.url.split("@")[-1]
