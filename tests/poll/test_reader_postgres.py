"""The PostgreSQL poll reader survives connections the server dropped, and fails fast when down."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from nxdocs.db.outage import is_outage
from nxdocs.poll.reader_postgres import PostgresJobReader
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support.jobs import enqueue
from tests.support.server import free_port

# The reader of this test names its connections: tests running beside it read
# the same database (in schemas of their own) and must keep theirs.
READER_NAME = f"reader_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def postgres_system(postgres_schema_url: str, tmp_path: Path) -> Iterator[System]:
    system = build_system(Settings(database_url=postgres_schema_url, data_dir=tmp_path))
    yield system
    system.close()


def terminate_reader_connections(system: System) -> int:
    """What a server restart or an idle timeout does to the reader's kept connections."""
    with system.engine.connect() as connection:
        terminated = connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND application_name = :name"
            ),
            {"name": READER_NAME},
        ).scalar_one()
    return int(terminated)


def test_a_read_on_a_dropped_connection_is_retried_on_a_fresh_one(
    postgres_system: System,
) -> None:
    owner_id = postgres_system.keys.create("reader").owner_id
    job_id = enqueue(postgres_system, owner_id)
    url = postgres_system.settings.resolved_database_url()
    reader = PostgresJobReader(f"{url}&application_name={READER_NAME}")

    async def scenario() -> None:
        await reader.open()
        try:
            # Two kept connections: reads that overlap need one each.
            first, second = await asyncio.gather(reader.read(job_id), reader.read(job_id))
            assert first is not None
            assert second is not None
            assert await asyncio.to_thread(terminate_reader_connections, postgres_system) == 2
            for _ in range(3):  # neither the first read nor the next finds a dead one
                found = await reader.read(job_id)
                assert found is not None
                assert found[0] == owner_id
        finally:
            await reader.close()

    asyncio.run(scenario())


def test_a_server_that_is_down_fails_the_read_at_once() -> None:
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nxdocs"
    reader = PostgresJobReader(closed)

    async def scenario() -> BaseException:
        await reader.open()
        try:
            with pytest.raises(psycopg.OperationalError) as raised:
                await reader.read("job_abc123def456")
            return raised.value
        finally:
            await reader.close()

    started = time.monotonic()
    error = asyncio.run(scenario())
    assert time.monotonic() - started < 2
    assert is_outage(error)
