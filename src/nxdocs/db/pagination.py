"""Newest-first, cursor-based pages of an owner's rows: the contract's `limit`/`after`.

The cursor is the id of the last item of the previous page; the next page is
everything strictly older by (created_at, id). Rows created while a client
walks the list are newer than any cursor, so they never shift later pages:
no item is skipped or repeated. A cursor whose row was deleted still pages
on from the creation time its id carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from nxdocs.ids import id_time_ms


class UnknownCursorError(LookupError):
    """`after` names no row of this owner, and carries no time to continue from
    (an id made before ids had one, whose row is gone)."""


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
        query = query.where(older_than(table, cursor_position(connection, table, owner_id, after)))
    query = query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)
    rows = connection.execute(query).all()
    return rows[:limit], len(rows) > limit


def cursor_position(
    connection: sa.Connection,
    table: sa.Table,
    owner_id: str | None,
    after: str,
    *,
    within: sa.ColumnElement[bool] | None = None,
) -> tuple[int, str]:
    """(created_at, id) of the cursor: read from its row (among `owner_id`'s, for a
    table of owned rows; among the rows `within` selects, for a list of one parent's
    rows), or, once the row is gone, from the time its id carries (an id's time is
    its `created_at`)."""
    query = sa.select(table.c.created_at).where(table.c.id == after)
    if owner_id is not None:
        query = query.where(table.c.owner_id == owner_id)
    if within is not None:
        query = query.where(within)
    created_at = connection.execute(query).scalar_one_or_none()
    if created_at is None:
        created_at = id_time_ms(after)
    if created_at is None:
        raise UnknownCursorError(after)
    return created_at, after


def older_than(
    table: sa.Table, position: tuple[int | sa.BindParameter[Any], str | sa.BindParameter[Any]]
) -> sa.ColumnElement[bool]:
    """Rows strictly after `position` (values, or parameters bound later) in
    newest-first order.

    Written so that the index on (owner_id, created_at, id) is entered at the
    cursor: `created_at <= ...` is a range both databases seek to, and only
    the rows of the cursor's own millisecond are left to the second test. (A
    plain `created_at < c OR (created_at = c AND id < i)` is not a range: the
    planners read the index from the newest row down to the cursor.)
    """
    created_at, row_id = position
    return sa.and_(
        table.c.created_at <= created_at,
        sa.or_(table.c.created_at < created_at, table.c.id < row_id),
    )
