"""The job store port: every read and write of the jobs table goes through here.

`updated_at` moves only when what the API shows of a job changes: its
progress or its terminal state. Claims, retries and lease recoveries keep the
public object as it was ("processing"), and every visible change is announced
with `Notifier.job_updated` in its transaction, which keeps API caches coherent.

Writes that a worker makes on a claimed job are fenced by (worker, attempt):
a worker whose lease expired and whose job was claimed again can no longer
change it, so a slow or resurrected worker never overwrites a newer attempt.
Resource stores fence their own writes the same way with `hold`.

Lease expiry, reaping and `run_at` use the database's clock, read inside the
statement (`now_sql`), never a process's clock: workers on machines whose
clocks disagree, or a clock stepped by NTP, cannot reap a valid lease or run a
job early. Public timestamps (`created_at`, `updated_at`) still come from the
injected `Clock`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import sqlalchemy as sa

from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.schema import jobs, owners
from nxdocs.ids import id_time_ms
from nxdocs.jobs.model import ClaimedJob, ErrorInfo, Fence, JobState, JobView, NewJob
from nxdocs.jobs.notify import Notifier
from nxdocs.jobs.retry import GiveUp, RetryDecision

ATTEMPTS_EXHAUSTED = "ATTEMPTS_EXHAUSTED"

ClaimKey = tuple[str, str]
"""(job id, run id): one claim of one job, as heartbeats and releases name it."""


class JobHooks(Protocol):
    """Writes to a job's resource, made in the same transaction as the job's terminal state."""

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None: ...

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None: ...

    def on_succeeded_many(
        self, connection: sa.Connection, done: Sequence[tuple[ClaimedJob, dict[str, Any]]]
    ) -> None:
        """`on_succeeded` for each of a batch of jobs, with the statements it can share."""


class NoHooks:
    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        pass

    def on_succeeded_many(
        self, connection: sa.Connection, done: Sequence[tuple[ClaimedJob, dict[str, Any]]]
    ) -> None:
        pass

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        pass


def waiting_owners_sql(now_sql: str) -> str:
    """The claim's recursive CTE `waiting(owner_id)`: the owners with a job due now,
    by a skip scan of ix_jobs_queued_by_owner (one index probe per owner, not per
    job), ending in one NULL row. Both backends' claim statements start with it."""
    return f"""
        waiting(owner_id) AS (
            SELECT (SELECT owner_id FROM jobs
                    WHERE state = 'queued' AND run_at <= {now_sql}
                    ORDER BY owner_id LIMIT 1)
            UNION ALL
            SELECT (SELECT j.owner_id FROM jobs j
                    WHERE j.state = 'queued' AND j.run_at <= {now_sql}
                      AND j.owner_id > w.owner_id
                    ORDER BY j.owner_id LIMIT 1)
            FROM waiting w WHERE w.owner_id IS NOT NULL
        )"""  # noqa: S608 (built from constants, no input)


@dataclass(frozen=True)
class QueueStats:
    """The jobs in flight, as `/metrics` reports them."""

    active: dict[tuple[str, JobState], int]
    """Jobs queued or running now, by (type, state)."""
    due: int
    """Queued jobs whose time to run has come (`run_at` passed): the queue's depth."""
    oldest_due_seconds: float
    """How long the longest-waiting due job has waited since its `run_at`; 0 for none."""


class TooManyActiveJobsError(Exception):
    """The owner already has as many jobs queued or running as it may."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"{limit} jobs are queued or running")
        self.limit = limit


class JobStore:
    """Shared SQL for both databases; subclasses supply the claim statement and
    the database's clock as SQL (milliseconds since the epoch)."""

    claim_sql: sa.TextClause
    now_sql: str

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        notifier: Notifier,
        hooks: JobHooks | None = None,
        *,
        max_active_per_owner: int = 0,
    ) -> None:
        self.engine = engine
        self.reads = read_only(self.engine)
        self.clock = clock
        self.notifier = notifier
        self.hooks: JobHooks = hooks or NoHooks()
        self.max_active_per_owner = max_active_per_owner
        """Queued and running jobs one owner may have (0: no limit)."""
        self._db_now = database_now(self.now_sql)
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        # Built once: enqueue is the hot path, and building the statement costs
        # more than executing its cached compiled form.
        self._insert = jobs.insert().values(state=JobState.QUEUED, attempts=0, run_at=self._db_now)
        self._mark_succeeded_one = (
            jobs.update()
            .where(
                jobs.c.id == sa.bindparam("fence_id"),
                jobs.c.worker_id == sa.bindparam("fence_worker"),
                jobs.c.attempts == sa.bindparam("fence_attempt"),
                jobs.c.run_id == sa.bindparam("fence_run"),
                jobs.c.state == JobState.RUNNING,
            )
            .values(
                state=JobState.SUCCEEDED,
                result=sa.bindparam("new_result"),
                error_code=None,
                error_message=None,
                worker_id=None,
                lease_expires_at=None,
                updated_at=sa.bindparam("finished_at"),
            )
        )

    def one_statement(self) -> AbstractContextManager[sa.Connection]:
        """A connection for a unit of work that is one statement (a claim, a
        heartbeat): a transaction of its own, committed at the end."""
        return self.engine.begin()

    # -- enqueue and read -------------------------------------------------

    def enqueue(self, connection: sa.Connection, job: NewJob, *, max_attempts: int) -> None:
        """Insert a queued job in the caller's transaction, beside the resource it makes.

        Raises `TooManyActiveJobsError` if the owner already has
        `max_active_per_owner` jobs queued or running; the owner's row is
        locked first, so concurrent creates of one owner are counted in turn
        (SQLite's single writer gives the same order).
        """
        if self.max_active_per_owner:
            self._check_active_jobs(connection, job.owner_id)
        self._insert_job(connection, job, max_attempts)
        self.notifier.jobs_available(connection)

    def submit(self, job: NewJob, *, max_attempts: int) -> None:
        """Enqueue a job that is the whole of its transaction (no resource beside it).

        Without a per-owner cap to count under a lock, this is one statement
        on PostgreSQL, in autocommit: one round trip, as the fastest queues
        enqueue (`enqueue` in a transaction adds its BEGIN and COMMIT); the
        workers' wake-up adds one at most once per window (`WakeThrottle`).
        """
        if self.max_active_per_owner:
            with self.engine.begin() as connection:
                self.enqueue(connection, job, max_attempts=max_attempts)
            return
        with self.one_statement() as connection:
            self._insert_job(connection, job, max_attempts)
            self.notifier.jobs_available(connection)

    def _insert_job(self, connection: sa.Connection, job: NewJob, max_attempts: int) -> None:
        # The id's time is the job's creation time, so a list can page on after
        # the job is gone (see `nxdocs.ids`); ids without one get the clock's.
        now = id_time_ms(job.id) or self.clock.now_ms()
        connection.execute(
            self._insert,
            {
                "id": job.id,
                "owner_id": job.owner_id,
                "type": job.type,
                "payload": orjson.dumps(job.payload).decode(),
                "max_attempts": max_attempts,
                "created_at": now,
                "updated_at": now,
            },
        )

    def _check_active_jobs(self, connection: sa.Connection, owner_id: str) -> None:
        cap = self.max_active_per_owner
        # FOR NO KEY UPDATE: it does not conflict with the FOR KEY SHARE lock
        # that inserting a row referencing the owner takes (the artifact just
        # made in this transaction), so two creates of one owner queue up here
        # instead of deadlocking.
        connection.execute(
            sa.select(owners.c.id).where(owners.c.id == owner_id).with_for_update(key_share=True)
        ).first()
        mine = jobs.c.owner_id == owner_id
        # Counting stops at the cap: an owner with a million queued jobs costs
        # no more to refuse than one at the limit.
        queued = sa.select(jobs.c.id).where(mine, jobs.c.state == JobState.QUEUED).limit(cap)
        running = sa.select(jobs.c.id).where(jobs.c.state == JobState.RUNNING, mine)
        active = connection.execute(
            sa.select(
                sa.select(sa.func.count()).select_from(queued.subquery()).scalar_subquery()
                + sa.select(sa.func.count()).select_from(running.subquery()).scalar_subquery()
            )
        ).scalar_one()
        if active >= cap:
            raise TooManyActiveJobsError(cap)

    def get(self, job_id: str, owner_id: str) -> JobView | None:
        """The job if it exists and belongs to `owner_id`; another owner's job is None."""
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(jobs).where(jobs.c.id == job_id, jobs.c.owner_id == owner_id)
            ).one_or_none()
        return None if row is None else job_view(row._mapping)

    def queue_stats(self) -> QueueStats:
        """The jobs queued and running, read at a scrape of `/metrics`.

        One statement per state, each matching its partial index's condition
        (ix_jobs_queued_by_owner, ix_jobs_leases) exactly, so either database
        reads only the jobs in flight, never the finished ones the table keeps.
        """
        due = jobs.c.run_at <= self._db_now
        queued = (
            sa.select(
                jobs.c.type,
                sa.func.count(),
                sa.func.count(sa.case((due, 1))),
                self._db_now - sa.func.min(sa.case((due, jobs.c.run_at))),
            )
            .where(jobs.c.state == JobState.QUEUED)
            .group_by(jobs.c.type)
        )
        running = (
            sa.select(jobs.c.type, sa.func.count())
            .where(jobs.c.state == JobState.RUNNING)
            .group_by(jobs.c.type)
        )
        with self.reads.connect() as connection:
            queued_rows = connection.execute(queued).all()
            running_rows = connection.execute(running).all()
        active = {(row[0], JobState.QUEUED): row[1] for row in queued_rows}
        active.update({(row[0], JobState.RUNNING): row[1] for row in running_rows})
        waited = [row[3] for row in queued_rows if row[3] is not None]
        return QueueStats(
            active=active,
            due=sum(row[2] for row in queued_rows),
            oldest_due_seconds=max(waited, default=0) / 1000,
        )

    # -- worker side --------------------------------------------------------

    def claim(
        self, worker_id: str, limit: int, lease_seconds: float, *, per_owner: int | None = None
    ) -> list[ClaimedJob]:
        """Claim up to `limit` runnable jobs, fairly between owners.

        Levelled round-robin: a job's share is its owner's running jobs (on
        any worker) plus its place in the owner's line of due jobs; the
        smallest shares go first, the oldest among equals. So each waiting
        owner's next job comes before anyone's one after it, and an owner with
        many jobs running waits behind owners with few.

        With `per_owner`, this worker never holds more than that
        many running jobs of one owner, so one owner's backlog cannot take
        every slot and another owner's job waits for a free slot, not for the
        backlog. (Claims of other workers running at the same moment may each
        see an owner's running count before the other's claim; the round-robin
        order is then off by those jobs, the cap per worker never is.)
        """
        params = {
            "worker_id": worker_id,
            "limit": limit,
            "window": limit * _CLAIM_WINDOW,
            "lease_ms": _ms(lease_seconds),
            "per_owner": per_owner if per_owner is not None else _NO_LIMIT,
        }
        with self.one_statement() as connection:
            rows = connection.execute(self.claim_sql, params).all()
        # Ids are random, so no order among one batch is meaningful: the
        # statement already took the oldest runnable jobs.
        return [claimed_job(row._mapping) for row in rows]

    def heartbeat(
        self, worker_id: str, claims: Sequence[ClaimKey], lease_seconds: float
    ) -> set[ClaimKey]:
        """Extend the leases this worker still holds under these claims; returns those."""
        if not claims:
            return set()
        with self.one_statement() as connection:
            rows = connection.execute(
                jobs.update()
                .where(_claimed_by(worker_id, claims))
                .values(lease_expires_at=self._db_now + _ms(lease_seconds))
                .returning(jobs.c.id, jobs.c.run_id)
            ).all()
        return {(row.id, row.run_id) for row in rows}

    def held(self, worker_id: str, claims: Sequence[ClaimKey]) -> set[ClaimKey]:
        """Which of these claims the worker still holds: a read, for a prompt check
        when a job it runs was changed by someone else (a cancel)."""
        if not claims:
            return set()
        with self.reads.connect() as connection:
            rows = connection.execute(
                sa.select(jobs.c.id, jobs.c.run_id).where(_claimed_by(worker_id, claims))
            ).all()
        return {(row.id, row.run_id) for row in rows}

    def hold(self, connection: sa.Connection, fence: Fence) -> bool:
        """In the caller's transaction: is the job still held by this attempt?

        On PostgreSQL the row is share-locked until the transaction ends, so a
        reaper or a new claim waits for the caller's write instead of racing
        it; SQLite's single writer gives the same order.
        """
        held = connection.execute(
            sa.select(jobs.c.id).where(*_fenced(fence)).with_for_update(read=True)
        ).first()
        return held is not None

    def report_progress(self, job: ClaimedJob, worker_id: str, done: int, total: int) -> bool:
        with self.engine.begin() as connection:
            updated = connection.execute(
                jobs.update()
                .where(*_held(job, worker_id))
                .values(progress_done=done, progress_total=total, updated_at=self.clock.now_ms())
            )
            if updated.rowcount == 1:
                self.notifier.job_updated(connection, job.id)
        return updated.rowcount == 1

    def complete(self, job: ClaimedJob, worker_id: str, result: dict[str, Any]) -> bool:
        """Mark the job succeeded and run the success hook, in one transaction."""
        with self.engine.begin() as connection:
            updated = connection.execute(
                jobs.update()
                .where(*_held(job, worker_id))
                .values(
                    state=JobState.SUCCEEDED,
                    result=orjson.dumps(result).decode(),
                    error_code=None,
                    error_message=None,
                    **_finished_values(self.clock.now_ms()),
                )
            )
            if updated.rowcount != 1:
                return False
            self.hooks.on_succeeded(connection, job, result)
            self.notifier.job_updated(connection, job.id)
        return True

    def complete_many(
        self, worker_id: str, done: Sequence[tuple[ClaimedJob, dict[str, Any]]]
    ) -> set[ClaimKey]:
        """`complete` for several jobs in one transaction; returns the claims written.

        A job no longer held (its lease lost, cancelled) is left alone, as by
        `complete`. The hooks of every written job run in this transaction, so
        a hook that raises rolls all of them back: the caller then writes them
        one at a time.
        """
        if not done:
            return set()
        now = self.clock.now_ms()
        with self.engine.begin() as connection:
            written = self._mark_succeeded(connection, worker_id, done, now)
            finished = [(job, result) for job, result in done if (job.id, job.run_id) in written]
            self.hooks.on_succeeded_many(connection, finished)
        return written

    def _mark_succeeded(
        self,
        connection: sa.Connection,
        worker_id: str,
        done: Sequence[tuple[ClaimedJob, dict[str, Any]]],
        now: int,
    ) -> set[ClaimKey]:
        """Set the held ones of these jobs succeeded and tell listeners; returns
        their claims. One fenced UPDATE per job: cheap on SQLite, where no
        statement crosses a network."""
        written = set()
        for job, result in done:
            updated = connection.execute(
                self._mark_succeeded_one,
                {
                    "fence_id": job.id,
                    "fence_worker": worker_id,
                    "fence_attempt": job.attempt,
                    "fence_run": job.run_id,
                    "new_result": orjson.dumps(result).decode(),
                    "finished_at": now,
                },
            )
            if updated.rowcount == 1:
                written.add((job.id, job.run_id))
        self.notifier.jobs_updated(
            connection, [job.id for job, _ in done if (job.id, job.run_id) in written]
        )
        return written

    def fail(
        self, job: ClaimedJob, worker_id: str, error: ErrorInfo, decision: RetryDecision
    ) -> bool:
        """Queue the job again at the decided time, or fail it for good with its hook."""
        with self.engine.begin() as connection:
            if isinstance(decision, GiveUp):
                return self._fail_terminally(connection, job, worker_id, error)
            updated = connection.execute(
                jobs.update()
                .where(*_held(job, worker_id))
                .values(
                    state=JobState.QUEUED,
                    run_at=self._db_now + decision.delay_ms,
                    error_code=error.code,
                    error_message=error.message,
                    worker_id=None,
                    lease_expires_at=None,
                )
            )
            return updated.rowcount == 1

    def _fail_terminally(
        self, connection: sa.Connection, job: ClaimedJob, worker_id: str, error: ErrorInfo
    ) -> bool:
        updated = connection.execute(
            jobs.update()
            .where(*_held(job, worker_id))
            .values(
                state=JobState.FAILED,
                error_code=error.code,
                error_message=error.message,
                **_finished_values(self.clock.now_ms()),
            )
        )
        if updated.rowcount != 1:
            return False
        self.hooks.on_failed(connection, job, error)
        self.notifier.job_updated(connection, job.id)
        return True

    def snooze(self, job: ClaimedJob, worker_id: str, delay_ms: int) -> bool:
        """Back to the queue for `delay_ms`, handing the attempt back (`SnoozeJob`)."""
        with self.engine.begin() as connection:
            updated = connection.execute(
                jobs.update()
                .where(*_held(job, worker_id))
                .values(
                    state=JobState.QUEUED,
                    attempts=jobs.c.attempts - 1,
                    run_at=self._db_now + delay_ms,
                    worker_id=None,
                    lease_expires_at=None,
                )
            )
        return updated.rowcount == 1

    def release(self, worker_id: str, claims: Sequence[ClaimKey], *, max_releases: int) -> int:
        """Give held jobs back to the queue at once (graceful shutdown).

        The attempt is handed back too, for the job's first `max_releases`
        releases: the job did not fail, we stopped it. After that a release
        spends the attempt, so a job that always outlives the grace period
        still ends (ATTEMPTS_EXHAUSTED once its attempts are spent).
        """
        if not claims:
            return 0
        mine = _claimed_by(worker_id, claims)
        free = jobs.c.releases < max_releases
        with self.engine.begin() as connection:
            released = connection.execute(
                jobs.update()
                .where(mine, sa.or_(free, jobs.c.attempts < jobs.c.max_attempts))
                .values(
                    state=JobState.QUEUED,
                    attempts=sa.case((free, jobs.c.attempts - 1), else_=jobs.c.attempts),
                    releases=jobs.c.releases + 1,
                    run_at=self._db_now,
                    worker_id=None,
                    lease_expires_at=None,
                )
            ).rowcount
            if released:
                self.notifier.jobs_available(connection)
            spent = sa.and_(mine, sa.not_(free), jobs.c.attempts >= jobs.c.max_attempts)
            exhausted = self._fail_exhausted(connection, spent, _STOPPED_MESSAGE)
        return released + exhausted

    def reap_expired_leases(self) -> int:
        """Jobs whose worker vanished go back to the queue, or fail when out of attempts.

        One UPDATE per outcome; on PostgreSQL two reapers racing on a row are
        serialised by its row lock and the loser's WHERE no longer matches.
        """
        expired = sa.and_(jobs.c.state == JobState.RUNNING, jobs.c.lease_expires_at < self._db_now)
        with self.engine.begin() as connection:
            requeued = connection.execute(
                jobs.update()
                .where(expired, jobs.c.attempts < jobs.c.max_attempts)
                .values(
                    state=JobState.QUEUED,
                    run_at=self._db_now,
                    worker_id=None,
                    lease_expires_at=None,
                )
            ).rowcount
            if requeued:
                self.notifier.jobs_available(connection)
            exhausted = self._fail_exhausted(
                connection, sa.and_(expired, jobs.c.attempts >= jobs.c.max_attempts), _LOST_MESSAGE
            )
        return requeued + exhausted

    def _fail_exhausted(
        self, connection: sa.Connection, where: sa.ColumnElement[bool], message: tuple[str, str]
    ) -> int:
        """Fail the matching running jobs with ATTEMPTS_EXHAUSTED, hooks included."""
        prefix, suffix = message
        rows = connection.execute(
            jobs.update()
            .where(where)
            .values(
                state=JobState.FAILED,
                error_code=ATTEMPTS_EXHAUSTED,
                error_message=sa.literal(prefix)
                + sa.cast(jobs.c.attempts, sa.String)
                + sa.literal(suffix),
                **_finished_values(self.clock.now_ms()),
            )
            .returning(*_CLAIMED_COLUMNS)
        ).all()
        for row in rows:
            job = claimed_job(row._mapping)
            error = ErrorInfo(ATTEMPTS_EXHAUSTED, f"{prefix}{job.attempt}{suffix}")
            self.hooks.on_failed(connection, job, error)
            self.notifier.job_updated(connection, job.id)
        return len(rows)


_CLAIMED_COLUMNS = (
    jobs.c.id,
    jobs.c.owner_id,
    jobs.c.type,
    jobs.c.payload,
    jobs.c.attempts,
    jobs.c.max_attempts,
    jobs.c.run_id,
)


def database_now(now_sql: str) -> sa.ColumnElement[int]:
    """The database's clock, in milliseconds, as a column expression."""
    return sa.literal_column(f"({now_sql})", sa.BigInteger)


_NO_LIMIT = 2**31 - 1
_CLAIM_WINDOW = 4
"""Due jobs per owner a claim considers, per job it wants: room for the rows
that claimers running at the same moment hold (PostgreSQL skips them)."""
_LOST_MESSAGE = ("The job's worker stopped responding on each of its ", " attempts.")
_STOPPED_MESSAGE = (
    "The job's attempts ran out: the last of its ",
    " attempts was still running when its worker shut down.",
)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _held(job: ClaimedJob, worker_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    return _fenced(Fence(job.id, worker_id, job.attempt, job.run_id))


def _fenced(fence: Fence) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        jobs.c.id == fence.job_id,
        jobs.c.worker_id == fence.worker_id,
        jobs.c.attempts == fence.attempt,
        jobs.c.run_id == fence.run_id,
        jobs.c.state == JobState.RUNNING,
    )


def _claimed_by(worker_id: str, claims: Sequence[ClaimKey]) -> sa.ColumnElement[bool]:
    return sa.and_(
        sa.tuple_(jobs.c.id, jobs.c.run_id).in_(list(claims)),
        jobs.c.worker_id == worker_id,
        jobs.c.state == JobState.RUNNING,
    )


def _finished_values(now: int) -> dict[str, Any]:
    return {"worker_id": None, "lease_expires_at": None, "updated_at": now}


def claimed_job(row: Any) -> ClaimedJob:
    """A row as the handlers and hooks see it; a job never claimed has an empty run id."""
    return ClaimedJob(
        id=row["id"],
        owner_id=row["owner_id"],
        type=row["type"],
        payload=orjson.loads(row["payload"]),
        attempt=row["attempts"],
        max_attempts=row["max_attempts"],
        run_id=row["run_id"] or "",
    )


def job_view(row: Any) -> JobView:
    state = JobState(row["state"])
    error = None
    # A queued retry keeps its last error for operators, but the contract's
    # `error` belongs to failed jobs only.
    if row["error_code"] is not None and state.public_status == "failed":
        error = ErrorInfo(row["error_code"], row["error_message"] or "")
    return JobView(
        id=row["id"],
        owner_id=row["owner_id"],
        type=row["type"],
        state=state,
        result=None if row["result"] is None else orjson.loads(row["result"]),
        error=error,
        attempts=row["attempts"],
        progress_done=row["progress_done"],
        progress_total=row["progress_total"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
