"""What clients and maintenance do to jobs besides running them: cancel and retention.

Cancelling makes the job terminal at once, in one transaction with its
resource's failure, whether it was queued or running. A running attempt is
not interrupted from outside: every write it makes is fenced on the job still
running under its claim, so from the cancel's commit on nothing it does
counts. It learns of the cancel at its next check (a progress report, a
heartbeat, or the worker's re-check on the change notification) and stops.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

import sqlalchemy as sa

from nxdocs.clock import format_timestamp
from nxdocs.db.schema import idempotency_keys, jobs
from nxdocs.jobs.model import ErrorInfo, JobState, JobView
from nxdocs.jobs.notify import RESYNC
from nxdocs.jobs.store import JobStore, claimed_job, job_view

CANCELLED = "CANCELLED"
_ACTIVE = (JobState.QUEUED, JobState.RUNNING)
_FINISHED = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
# Written as the partial index ix_jobs_finished's own predicate, literally: a
# bound IN list would not prove the index applies, and retention would scan.
_FINISHED_ROWS = sa.text("state IN ('succeeded', 'failed', 'cancelled')")


class JobAlreadyFinishedError(Exception):
    """The job had ended before the cancel; `job` is how it ended."""

    def __init__(self, job: JobView) -> None:
        super().__init__(f"job {job.id} already finished")
        self.job = job


@dataclass(frozen=True)
class JobControl:
    store: JobStore

    def cancel(self, job_id: str, visible: Set[str], *, by: str) -> JobView | None:
        """Cancel the job if one of the `visible` owners owns it; None if none does.

        Raises `JobAlreadyFinishedError` if the job had already ended. The
        row is locked first (PostgreSQL; SQLite's single writer gives the
        same order), so a worker's completion either lands before the cancel,
        which then finds the job finished, or is refused after it.
        """
        store = self.store
        now = store.clock.now_ms()
        error = ErrorInfo(CANCELLED, f"The job was cancelled by {by} at {format_timestamp(now)}.")
        with store.engine.begin() as connection:
            mine = sa.and_(jobs.c.id == job_id, jobs.c.owner_id.in_(visible))
            row = connection.execute(sa.select(jobs).where(mine).with_for_update()).one_or_none()
            if row is None:
                return None
            if JobState(row.state).is_terminal:
                raise JobAlreadyFinishedError(job_view(row._mapping))
            connection.execute(
                jobs.update()
                .where(mine, jobs.c.state.in_(_ACTIVE))
                .values(
                    state=JobState.CANCELLED,
                    error_code=error.code,
                    error_message=error.message,
                    worker_id=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            )
            store.hooks.on_failed(connection, claimed_job(row._mapping), error)
            store.notifier.job_updated(connection, job_id)
            cancelled = connection.execute(sa.select(jobs).where(mine)).one()
        return job_view(cancelled._mapping)

    def delete_finished(
        self, finished_before_ms: int, *, batch: int = 1000, max_batches: int = 50
    ) -> int:
        """Delete jobs that finished before the cutoff, and their idempotency keys.

        Only finished jobs: a queued or running job is never removed. In
        batches, each its own short transaction, so retention never holds
        locks for long, and at most `max_batches` of them, so one maintenance
        round stays short (the next round goes on); returns how many jobs went.
        """
        total = 0
        for _ in range(max_batches):
            deleted = self._delete_batch(finished_before_ms, batch)
            total += deleted
            if deleted < batch:
                break
        return total

    def _delete_batch(self, finished_before_ms: int, batch: int) -> int:
        old = (
            sa.select(jobs.c.id)
            .where(_FINISHED_ROWS, jobs.c.updated_at < finished_before_ms)
            .order_by(jobs.c.updated_at)
            .limit(batch)
        )
        with self.store.engine.begin() as connection:
            ids = list(connection.execute(old).scalars())
            if not ids:
                return 0
            connection.execute(idempotency_keys.delete().where(idempotency_keys.c.job_id.in_(ids)))
            connection.execute(jobs.delete().where(jobs.c.id.in_(ids), jobs.c.state.in_(_FINISHED)))
            # One signal for the batch: caches of job bodies drop what they hold.
            self.store.notifier.job_updated(connection, RESYNC)
        return len(ids)
