"""PostgreSQL poll reads over a few kept async connections with a prepared statement.

The connections are kept here rather than in psycopg_pool because of what an
outage needs. After a server restart every kept connection is dead. A read
that finds its connection broken closes the other idle ones too (they went
with it) and is retried once on a fresh connection, so polls answer 200
again as soon as the server accepts connections. While it does not, the
fresh connection is refused at once and the poll answers 503 at once. A pool
that reconnects in the background with backoff would instead keep requests
waiting for its next attempt, during and after the outage. Nothing is
checked per checkout: that would cost a round trip per poll.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from nxdocs.db.backend import Database
from nxdocs.poll.public import JOB_COLUMNS, JobRow

_SQL = f"SELECT owner_id, {JOB_COLUMNS} FROM jobs WHERE id = %s"  # noqa: S608 (constant)
_CONNECT_TIMEOUT_SECONDS = 5

Connection = psycopg.AsyncConnection[Any]


class PostgresJobReader:
    def __init__(self, database_url: str, *, max_connections: int = 8) -> None:
        self._conninfo = Database.from_url(database_url).libpq_url()
        self._max_connections = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[Connection] = []
        self._open = False

    async def open(self) -> None:
        """Connections are made on first use, so a server that is down does not stop startup."""
        self._slots = asyncio.Semaphore(self._max_connections)  # on the serving event loop
        self._open = True

    async def read(self, job_id: str) -> tuple[str, JobRow] | None:
        if not self._open:
            raise RuntimeError("PostgresJobReader.read() before open()")
        async with self._slots:
            if self._idle:
                connection = self._idle.pop()
                try:
                    return await self._read(connection, job_id)
                except psycopg.OperationalError:
                    if not connection.broken:
                        raise
                # The server dropped it (a restart, a failover): the idle ones are as dead.
                await self._close_idle()
            return await self._read(await self._connect(), job_id)

    async def _connect(self) -> Connection:
        # Prepared on first use per connection: the server skips parse and plan.
        # Autocommit: a read-only statement needs no transaction.
        return await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            prepare_threshold=0,
            connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        )

    async def _read(self, connection: Connection, job_id: str) -> tuple[str, JobRow] | None:
        """One read; the connection is kept afterwards unless it is broken or may be mid-query."""
        try:
            cursor = await connection.execute(_SQL, (job_id,))
            row = await cursor.fetchone()
        except Exception:
            await self._release(connection, keep=not connection.broken)
            raise
        except BaseException:  # cancelled mid-query: the connection's state is unknown
            await connection.close()
            raise
        await self._release(connection, keep=True)
        return None if row is None else (row[0], JobRow(*row[1:]))

    async def _release(self, connection: Connection, *, keep: bool) -> None:
        if keep and self._open and not connection.closed:
            self._idle.append(connection)
        else:
            await connection.close()

    async def _close_idle(self) -> None:
        idle, self._idle = self._idle, []
        if idle:
            # Shielded: a request cancelled meanwhile must not leave some of them open.
            await asyncio.shield(asyncio.gather(*(connection.close() for connection in idle)))

    async def close(self) -> None:
        self._open = False
        await self._close_idle()
