"""A statement handed to psycopg directly, on a connection SQLAlchemy lent.

For the few statements on a hot path where SQLAlchemy's execution machinery
(the execution context, result wrapping, events) costs more than the round
trip itself. The connection still comes from and goes back to the pool, with
its events; what this adds is what SQLAlchemy would have done with an error:
raise it as SQLAlchemy's own exception class, and invalidate a connection the
server dropped, so callers handle faults as on every other path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, LiteralString, cast

import psycopg
import sqlalchemy as sa


def execute_prepared(
    connection: sa.Connection, sql: LiteralString, params: Mapping[str, Any]
) -> None:
    """Run `sql` (psycopg's `%(name)s` placeholders) as a server-side prepared statement."""
    pooled = connection.connection
    driver = cast(psycopg.Connection[Any], pooled.driver_connection)
    try:
        driver.execute(sql, params, prepare=True)
    except psycopg.Error as exc:
        disconnected = connection.dialect.is_disconnect(cast(Any, exc), pooled, None)
        if disconnected:
            connection.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            sql, params, exc, psycopg.Error, connection_invalidated=disconnected
        ) from exc
