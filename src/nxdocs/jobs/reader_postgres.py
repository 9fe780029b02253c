"""PostgreSQL poll reads over a pool of async connections with a prepared statement."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from nxdocs.jobs.public import JOB_COLUMNS, JobRow

_SQL = f"SELECT owner_id, {JOB_COLUMNS} FROM jobs WHERE id = %s"  # noqa: S608 (constant)


class PostgresJobReader:
    def __init__(self, database_url: str, *, max_connections: int = 8) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._pool = AsyncConnectionPool(
            url.render_as_string(hide_password=False),
            min_size=2,
            max_size=max_connections,
            open=False,
            # Prepared on first use per connection: the server skips parse and plan.
            # Autocommit: a read-only statement needs no transaction, and without
            # it the pool would roll back each returned connection, a round trip.
            kwargs={"prepare_threshold": 0, "autocommit": True},
        )

    async def open(self) -> None:
        await self._pool.open()

    async def read(self, job_id: str) -> tuple[str, JobRow] | None:
        async with self._pool.connection() as connection:
            cursor = await connection.execute(_SQL, (job_id,))
            row = await cursor.fetchone()
        return None if row is None else (row[0], JobRow(*row[1:]))

    async def close(self) -> None:
        await self._pool.close()
