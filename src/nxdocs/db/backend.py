"""Which database a URL names, decided once.

Everything that differs between SQLite and PostgreSQL (the engine's set-up,
the claim statement, the notifier, the poll route's reader, the readiness
probe) asks the one `Database` built from the configured URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class UnsupportedDatabaseError(ValueError):
    """The URL names no database nxdocs can run on."""


POSTGRES_SCHEME = "postgresql+psycopg"
"""How every PostgreSQL URL is written once read: SQLAlchemy's dialect, psycopg 3."""

_POSTGRES_NAMES = ("postgresql", "postgres")
"""`postgres` is what Heroku-style platforms hand out; SQLAlchemy knows only `postgresql`."""


@dataclass(frozen=True)
class Database:
    url: str = field(repr=False)  # a PostgreSQL URL may carry a password
    """The URL as SQLAlchemy takes it; a PostgreSQL one always names psycopg."""
    backend: Backend
    sqlite_path: Path | None
    """The database file; set exactly when the backend is SQLite."""

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Read `url`; `postgres://` and `postgresql://` mean PostgreSQL through psycopg 3.

        Error messages never repeat the URL, which may hold a password.
        """
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise UnsupportedDatabaseError("the database URL cannot be parsed") from None
        name, _, driver = parsed.drivername.partition("+")
        if name in _POSTGRES_NAMES:
            if driver not in ("", "psycopg"):
                raise UnsupportedDatabaseError(
                    f"nxdocs talks to PostgreSQL through psycopg 3, not {driver!r}: "
                    f"write postgresql://... or {POSTGRES_SCHEME}://..."
                )
            # Only the scheme changes: the rest stays byte for byte as written,
            # so the password's and the options' encoding cannot be altered.
            rest = url.split("://", 1)[1]
            return cls(f"{POSTGRES_SCHEME}://{rest}", Backend.POSTGRESQL, None)
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

    def libpq_url(self) -> str:
        """The PostgreSQL URL as libpq reads it (`psycopg.connect`), for the
        connections made outside SQLAlchemy."""
        if self.is_sqlite:
            raise UnsupportedDatabaseError("a SQLite database has no libpq URL")
        return "postgresql://" + self.url.split("://", 1)[1]

    def described(self) -> str:
        """For the console: a SQLite file's URL, or PostgreSQL's host, port and
        database (never the user, the password or the query, which may hold one)."""
        if self.is_sqlite:
            return self.url
        parsed = make_url(self.url)
        port = f":{parsed.port}" if parsed.port else ""
        return f"{parsed.host or 'localhost'}{port}/{parsed.database or ''}"
