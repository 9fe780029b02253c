"""An owner's jobs, newest first, filtered and paged: what `GET /v1/jobs` reads.

Pages are cut by (created_at, id) like every list (`nxdocs.db.pagination`),
so jobs created while a client pages are never seen twice nor skipped. Each
query reads an index in order and stops after one page:
- without a status or type filter, `ix_jobs_owner_created`;
- with a status, `ix_jobs_owner_state_created` once per internal state the
  status stands for (two at most), each range limited to a page, then
  merged: an owner with a million completed jobs lists its few failed ones
  at once;
- with a type, `ix_jobs_owner_type_state_created` the same way, once per
  state (every state when no status is given).
The time filters bound the same ranges.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence, Set
from dataclasses import dataclass

import sqlalchemy as sa

from nxdocs.db.engine import read_only
from nxdocs.db.pagination import cursor_position, older_than
from nxdocs.db.schema import jobs
from nxdocs.jobs.model import JobState
from nxdocs.poll.public import JobRow


@dataclass(frozen=True)
class JobFilter:
    status: str | None = None
    """The contract's status: processing, completed or failed."""
    type: str | None = None
    created_after: int | None = None
    """Exclusive, in ms."""
    created_before: int | None = None
    """Exclusive, in ms."""

    def states(self) -> list[JobState] | None:
        if self.status is None:
            return None
        return [state for state in JobState if state.public_status == self.status]


_COLUMNS = [jobs.c[name] for name in JobRow._fields]


@dataclass(frozen=True)
class _Shape:
    """Which conditions a page's statement has: statements are built once per shape
    (building one costs more than running it) and run with the values bound."""

    states: tuple[JobState, ...] | None
    type: bool
    created_after: bool
    created_before: bool
    after: bool


class JobLister:
    def __init__(self, engine: sa.Engine) -> None:
        self.reads = read_only(engine)

    def page(
        self, owner_id: str, found: JobFilter, *, limit: int, after: str | None
    ) -> tuple[Sequence[JobRow], bool]:
        """(rows, has_more); raises `UnknownCursorError` for a cursor it cannot place."""
        with self.reads.connect() as connection:
            position = None
            if after is not None:
                position = cursor_position(connection, jobs, owner_id, after)
            statement, values = self.query(owner_id, found, limit + 1, position)
            rows = connection.execute(statement, values).all()
        page = [JobRow(*row) for row in rows]
        return page[:limit], len(page) > limit

    @staticmethod
    def query(
        owner_id: str, found: JobFilter, limit: int, position: tuple[int, str] | None = None
    ) -> tuple[sa.Select[tuple[object, ...]], dict[str, object]]:
        """The statement one page runs (up to `limit` rows after `position`), and
        the values to run it with."""
        states = found.states()
        if states is None and found.type is not None:
            # Type and state lead an index together: one range per state.
            states = list(JobState)
        shape = _Shape(
            states=None if states is None else tuple(states),
            type=found.type is not None,
            created_after=found.created_after is not None,
            created_before=found.created_before is not None,
            after=position is not None,
        )
        values: dict[str, object] = {
            "owner_id": owner_id,
            "limit": limit,
            "type": found.type,
            "created_after": found.created_after,
            "created_before": found.created_before,
        }
        if position is not None:
            values["after_created_at"], values["after_id"] = position
        return _statement(shape), values

    def one(self, visible: Set[str], job_id: str) -> JobRow | None:
        """The job as the poll route shows it, read from the database, if one of
        the `visible` owners owns it."""
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(*_COLUMNS).where(jobs.c.id == job_id, jobs.c.owner_id.in_(visible))
            ).one_or_none()
        return None if row is None else JobRow(*row)


@functools.cache
def _statement(shape: _Shape) -> sa.Select[tuple[object, ...]]:
    where = [jobs.c.owner_id == sa.bindparam("owner_id")]
    if shape.type:
        where.append(jobs.c.type == sa.bindparam("type"))
    if shape.created_after:
        where.append(jobs.c.created_at > sa.bindparam("created_after"))
    if shape.created_before:
        where.append(jobs.c.created_at < sa.bindparam("created_before"))
    if shape.after:
        where.append(older_than(jobs, (sa.bindparam("after_created_at"), sa.bindparam("after_id"))))
    limit = sa.bindparam("limit", type_=sa.Integer)
    if shape.states is None:
        return _newest(sa.select(*_COLUMNS).where(*where), limit)
    ranges = [
        sa.select(
            _newest(sa.select(*_COLUMNS).where(*where, jobs.c.state == state), limit).subquery()
        )
        for state in shape.states
    ]
    merged = sa.union_all(*ranges).subquery()
    return (
        sa.select(*(merged.c[name] for name in JobRow._fields))
        .order_by(merged.c.created_at.desc(), merged.c.id.desc())
        .limit(limit)
    )


def _newest(
    query: sa.Select[tuple[object, ...]], limit: sa.BindParameter[int]
) -> sa.Select[tuple[object, ...]]:
    return query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
