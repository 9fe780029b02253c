"""PostgreSQL URLs as people write them: read once, into the one form the code uses.

`Database.from_url` is the only place a URL is normalized; the engine, the
notifier's own connection and the settings' check all take its result.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from nxdocs.db.backend import Database, UnsupportedDatabaseError
from nxdocs.db.engine import create_engine
from nxdocs.settings import Settings

PASSWORD = "s3cr:t@p/w%d"
QUOTED = "s3cr%3At%40p%2Fw%25d"


@pytest.mark.parametrize(
    "scheme", ["postgres", "postgresql", "postgresql+psycopg", "postgres+psycopg"]
)
def test_every_postgresql_spelling_means_psycopg_3(scheme: str) -> None:
    database = Database.from_url(f"{scheme}://app:{QUOTED}@db.example:6432/docs?sslmode=require")
    assert database.url == f"postgresql+psycopg://app:{QUOTED}@db.example:6432/docs?sslmode=require"
    engine = create_engine(database)
    try:
        assert engine.dialect.driver == "psycopg"
        assert engine.url.password == PASSWORD
    finally:
        engine.dispose()


def test_normalizing_twice_changes_nothing() -> None:
    once = Database.from_url(f"postgres://app:{QUOTED}@db.example/docs?options=-csearch_path%3Dx")
    assert Database.from_url(once.url) == once


@pytest.mark.parametrize("driver", ["psycopg2", "asyncpg", "pg8000"])
def test_another_driver_is_refused_with_the_spelling_that_works(driver: str) -> None:
    with pytest.raises(UnsupportedDatabaseError, match="psycopg 3") as refused:
        Database.from_url(f"postgresql+{driver}://app:{QUOTED}@db.example/docs")
    assert "postgresql://" in str(refused.value)
    assert QUOTED not in str(refused.value)


def test_the_settings_check_accepts_what_platforms_hand_out() -> None:
    settings = Settings(database_url="postgres://app:pw@db.example:5432/docs")
    assert settings.database().url == "postgresql+psycopg://app:pw@db.example:5432/docs"


def test_libpq_reads_the_same_connection_as_sqlalchemy() -> None:
    database = Database.from_url(
        f"postgres://app:{QUOTED}@db.example:6432/docs?sslmode=require&application_name=nx"
    )
    assert conninfo_to_dict(database.libpq_url()) == {
        "user": "app",
        "password": PASSWORD,
        "host": "db.example",
        "port": "6432",
        "dbname": "docs",
        "sslmode": "require",
        "application_name": "nx",
    }


def test_the_libpq_url_connects_with_the_urls_options(postgres_schema_url: str) -> None:
    # The test's URL sets a search_path in its query, as a deployment's may.
    database = Database.from_url(postgres_schema_url)
    with psycopg.connect(database.libpq_url()) as connection:
        shown = connection.execute("SHOW search_path").fetchone()
    assert shown is not None
    assert shown[0].startswith("t_")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgres://app:{QUOTED}@db.example:5432/docs", "db.example:5432/docs"),
        (f"postgresql://app:{QUOTED}@db.example/docs?sslmode=require", "db.example/docs"),
        ("postgresql://db.example/docs?user=app&password=hunter2", "db.example/docs"),
        ("postgresql://app:p%40ss@db.example/docs", "db.example/docs"),
        ("postgresql:///docs?host=/var/run/postgresql&password=hunter2", "localhost/docs"),
    ],
)
def test_described_never_shows_credentials_or_the_query(url: str, shown: str) -> None:
    database = Database.from_url(url)
    assert database.described() == shown
    for secret in (PASSWORD, QUOTED, "hunter2", "p%40ss", "p@ss", "app"):
        assert secret not in database.described()
        assert secret not in repr(database)


@pytest.mark.parametrize(
    "url", ["postgresql://db1:5432,db2:5432/docs", "postgres://app@db.example:port/docs"]
)
def test_unreadable_postgresql_urls_are_refused_without_repeating_them(url: str) -> None:
    with pytest.raises(UnsupportedDatabaseError, match="cannot be parsed") as refused:
        Database.from_url(url)
    assert url not in str(refused.value)
