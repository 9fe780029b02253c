"""Newest-first, cursor-based pages of an owner's rows: the contract's `limit`/`after`.

The cursor is the id of the last item of the previous page; the next page is
everything strictly older by (created_at, id). Rows created while a client
walks the list are newer than any cursor, so they never shift later pages:
no item is skipped or repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa


class UnknownCursorError(LookupError):
    """`after` names no row of this owner."""


def newest_first(
    connection: sa.Connection,
    table: sa.Table,
    owner_id: str,
    *,
    limit: int,
    after: str | None,
) -> tuple[Sequence[sa.Row[Any]], bool]:
    """(rows, has_more) for one page."""
    query = sa.select(table).where(table.c.owner_id == owner_id)
    if after is not None:
        cursor = connection.execute(
            sa.select(table.c.created_at).where(table.c.id == after, table.c.owner_id == owner_id)
        ).scalar_one_or_none()
        if cursor is None:
            raise UnknownCursorError(after)
        query = query.where(
            sa.or_(
                table.c.created_at < cursor,
                sa.and_(table.c.created_at == cursor, table.c.id < after),
            )
        )
    query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)
    rows = connection.execute(query).all()
    return rows[:limit], len(rows) > limit
