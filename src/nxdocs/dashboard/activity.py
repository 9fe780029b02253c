"""The last hour of an owner's jobs, minute by minute: what the dashboard's charts draw.

Three series over `BUCKETS` buckets of `BUCKET_MS` each, the last ending now:
- queue depth: jobs processing (queued or running) at some moment of each
  bucket, so that a job of a few seconds shows too; and how many are now;
- throughput: jobs that completed within each bucket;
- failures: jobs that failed (cancelled ones included) within each bucket.

Nothing records the past of the queue, but the rows tell it: a job was
processing during a bucket if it had been created by the bucket's end and
had not finished before its start, and a finished job's `updated_at` is when
it finished (nothing writes a finished row again). So among the jobs that are
active now or finished within the hour (no other job was processing during
it), depth = created by the bucket's end - finished by its start: two
per-bucket counts, summed up. Both are GROUP BY queries
that return at most one row per bucket, however many jobs the hour held.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from itertools import accumulate

import sqlalchemy as sa

from nxdocs.db.engine import read_only
from nxdocs.db.schema import jobs
from nxdocs.jobs.model import JobState

BUCKETS = 60
BUCKET_MS = 60_000
_ACTIVE = (JobState.QUEUED, JobState.RUNNING)
_FINISHED = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
_BEFORE = -1  # the bucket of everything at or before the hour's start


@dataclass(frozen=True)
class Activity:
    """One value per bucket, oldest first; `start_ms` is when the first bucket begins."""

    start_ms: int
    processing_now: int
    depth: Sequence[int]
    completed: Sequence[int]
    failed: Sequence[int]


class ActivityReader:
    def __init__(self, engine: sa.Engine) -> None:
        self.reads = read_only(engine)

    def last_hour(self, owners: Set[str], now_ms: int) -> Activity:
        """The jobs of `owners` over the hour that ends at `now_ms`."""
        start = now_ms - BUCKETS * BUCKET_MS
        mine = jobs.c.owner_id.in_(owners)
        finished_in_hour = sa.and_(jobs.c.state.in_(_FINISHED), jobs.c.updated_at > start)
        # Grouped outside a subquery: PostgreSQL would not take a GROUP BY of an
        # expression with bound values as the selected one (each binding is a
        # new parameter to it).
        created = (
            sa.select(_bucket(jobs.c.created_at, start).label("bucket"))
            .where(mine, sa.or_(jobs.c.state.in_(_ACTIVE), finished_in_hour))
            .subquery()
        )
        finished = (
            sa.select(_bucket(jobs.c.updated_at, start).label("bucket"), jobs.c.state)
            .where(mine, finished_in_hour)
            .subquery()
        )
        with self.reads.connect() as connection:
            created_rows = connection.execute(
                sa.select(created.c.bucket, sa.func.count()).group_by(created.c.bucket)
            ).all()
            finished_rows = connection.execute(
                sa.select(finished.c.bucket, finished.c.state, sa.func.count()).group_by(
                    finished.c.bucket, finished.c.state
                )
            ).all()
        return activity(
            start,
            {int(bucket): int(count) for bucket, count in created_rows},
            [(int(bucket), JobState(state), int(count)) for bucket, state, count in finished_rows],
        )


def activity(
    start_ms: int,
    created: dict[int, int],
    finished: Sequence[tuple[int, JobState, int]],
) -> Activity:
    """The series from per-bucket counts: jobs created per bucket (`_BEFORE` for
    those created before `start_ms`), and (bucket, final state, count) of the
    jobs that finished. Buckets past the last one (a clock a little ahead)
    count in the last."""
    completed = [0] * BUCKETS
    failed = [0] * BUCKETS
    ended = [0] * BUCKETS
    for bucket, state, count in finished:
        index = min(bucket, BUCKETS - 1)
        ended[index] += count
        if state is JobState.SUCCEEDED:
            completed[index] += count
        else:
            failed[index] += count
    arrived = [0] * BUCKETS
    for bucket, count in created.items():
        arrived[min(max(bucket, 0), BUCKETS - 1)] += count
    came = list(accumulate(arrived))
    went = [0, *accumulate(ended)]  # went[i]: finished before bucket i began
    depth = [max(0, came[i] - went[i]) for i in range(BUCKETS)]
    return Activity(start_ms, max(0, came[-1] - went[-1]), depth, completed, failed)


def _bucket(column: sa.ColumnElement[int], start_ms: int) -> sa.ColumnElement[int]:
    """Which bucket a time falls in: bucket k holds (start + k * width, start + (k + 1) * width]."""
    return sa.case(
        (column <= start_ms, _BEFORE),
        else_=(column - start_ms - 1) // BUCKET_MS,
    )
