"""PostgreSQL job store: many workers claim concurrently with SKIP LOCKED."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson
import sqlalchemy as sa

from nxdocs.clock import Clock
from nxdocs.db.driver import execute_prepared
from nxdocs.ids import id_time_ms
from nxdocs.jobs.model import ClaimedJob, NewJob
from nxdocs.jobs.notify_postgres import (
    AVAILABLE_NOTIFY_SQL,
    IDS_PER_NOTIFICATION,
    UPDATED_NOTIFY_SQL,
    PostgresNotifier,
)
from nxdocs.jobs.store import ClaimKey, JobHooks, JobStore, waiting_owners_sql


class PostgresJobStore(JobStore):
    # statement_timestamp(): one instant for the whole statement, taken by the
    # server when the statement starts, so every row compares against the same
    # "now" and no process's clock is involved.
    now_sql = "(EXTRACT(EPOCH FROM statement_timestamp()) * 1000)::bigint"

    # A fair claim, in one statement (see JobStore.claim for the rules):
    # - `waiting` lists the owners with a runnable job (`waiting_owners_sql`);
    # - `candidates` takes each such owner's oldest runnable jobs, more than
    #   the claim wants (`:window`), so rows other claimers hold leave enough
    #   (LATERAL, the same index), numbered per owner, beside the owner's running jobs
    #   (read through the partial index ix_jobs_leases: only busy slots);
    # - `ranked` keeps the jobs under this worker's per-owner cap, each with its
    #   share (the owner's running jobs plus its place in the owner's line), the
    #   `:window` smallest shares only: so the planner knows it joins a few rows
    #   to `jobs`, and reads them by primary key instead of hashing every queued
    #   job (a plan that grew with the queue);
    # - `picked` re-checks each candidate is still queued; written `IS TRUE` so
    #   the planner cannot match it to the partial index of queued jobs and
    #   walk that index (thousands of entries under a backlog) instead of
    #   looking the few candidates up by primary key;
    # - `picked` takes the smallest shares and locks them. FOR UPDATE cannot
    #   sit beside window functions, so it is a step of its own; its LIMIT
    #   counts only rows it could lock (SKIP LOCKED passes over the ones
    #   another claimer holds), so claimers woken together take disjoint
    #   batches instead of one taking all and the others none. MATERIALIZED
    #   keeps the picked set exactly what was locked.
    claim_sql = sa.text(
        f"""
        WITH RECURSIVE {waiting_owners_sql(now_sql)},
        busy AS (
            SELECT owner_id,
                   count(*) AS everywhere,
                   count(*) FILTER (WHERE worker_id = :worker_id) AS here
            FROM jobs WHERE state = 'running' GROUP BY owner_id
        ),
        candidates AS (
            SELECT next.id, next.run_at,
                   row_number() OVER (PARTITION BY w.owner_id ORDER BY next.run_at, next.id)
                       AS position,
                   coalesce(b.here, 0) AS here,
                   coalesce(b.everywhere, 0) AS everywhere
            FROM waiting w
            CROSS JOIN LATERAL (
                SELECT q.id, q.run_at FROM jobs q
                WHERE q.state = 'queued' AND q.owner_id = w.owner_id AND q.run_at <= {now_sql}
                ORDER BY q.run_at LIMIT :window
            ) next
            LEFT JOIN busy b ON b.owner_id = w.owner_id
            WHERE w.owner_id IS NOT NULL
        ),
        ranked AS (
            SELECT id, everywhere + position AS share, run_at FROM candidates
            WHERE here + position <= :per_owner
            ORDER BY share, run_at, id
            LIMIT :window
        ),
        picked AS MATERIALIZED (
            SELECT j.id FROM ranked r JOIN jobs j ON j.id = r.id
            WHERE (j.state = 'queued') IS TRUE
            ORDER BY r.share, r.run_at, r.id
            LIMIT :limit
            FOR UPDATE OF j SKIP LOCKED
        )
        UPDATE jobs
        SET state = 'running',
            attempts = jobs.attempts + 1,
            worker_id = :worker_id,
            run_id = substr(md5(random()::text || clock_timestamp()::text), 1, 12),
            lease_expires_at = {now_sql} + :lease_ms
        FROM picked
        WHERE jobs.id = picked.id
        RETURNING jobs.id, jobs.owner_id, jobs.type, jobs.payload,
                  jobs.attempts, jobs.max_attempts, jobs.run_id
        """  # noqa: S608 (built from constants, no input)
    )

    # Every held job of a batch in one statement: the rows come from arrays
    # (one parameter each, whatever the batch's size), each fenced on its own;
    # the written ones' `job_updated` notifications go out from the same
    # statement (`PostgresNotifier.jobs_updated`'s, without its round trips).
    _mark_succeeded_sql = sa.text(
        f"""
        WITH done AS (
            UPDATE jobs
            SET state = 'succeeded', result = done.result, error_code = NULL,
                error_message = NULL, worker_id = NULL, lease_expires_at = NULL,
                updated_at = :now
            FROM unnest(CAST(:ids AS text[]), CAST(:attempts AS int[]),
                        CAST(:run_ids AS text[]), CAST(:results AS text[]))
                 AS done(id, attempt, run_id, result)
            WHERE jobs.id = done.id AND jobs.worker_id = :worker_id
              AND jobs.attempts = done.attempt AND jobs.run_id = done.run_id
              AND jobs.state = 'running'
            RETURNING jobs.id, jobs.run_id
        ),
        told AS (
            SELECT {UPDATED_NOTIFY_SQL.format(ids="string_agg(id, ',')")}
            FROM (SELECT id, (row_number() OVER () - 1) / {IDS_PER_NOTIFICATION} AS part
                  FROM done) AS numbered
            GROUP BY part
        )
        SELECT id, run_id, (SELECT count(*) FROM told) AS notifications FROM done
        """  # noqa: S608 (built from constants, no input)
    )

    # `submit`'s statement, for psycopg itself; the second form also wakes the
    # workers (`PostgresNotifier.wake_in_statement`).
    _submit_sql = f"""
        INSERT INTO jobs (id, owner_id, type, payload, max_attempts, created_at, updated_at,
                          state, attempts, run_at)
        VALUES (%(id)s, %(owner_id)s, %(type)s, %(payload)s, %(max_attempts)s,
                %(created_at)s, %(created_at)s, 'queued', 0, {now_sql})
        """  # noqa: S608 (built from constants, no input)
    _submit_and_wake_sql = (
        f"WITH submitted AS ({_submit_sql} RETURNING 1) SELECT {AVAILABLE_NOTIFY_SQL}"
    )

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        notifier: PostgresNotifier,
        hooks: JobHooks | None = None,
        *,
        max_active_per_owner: int = 0,
    ) -> None:
        super().__init__(engine, clock, notifier, hooks, max_active_per_owner=max_active_per_owner)
        self._wakes = notifier

    def submit(self, job: NewJob, *, max_attempts: int) -> None:
        """One statement in autocommit, handed to psycopg as it is: the hot path
        of a queue's producer, where SQLAlchemy's execution of a cached
        statement cost more CPU (about 200 µs a job here) than the statement's
        round trip. Errors are raised as SQLAlchemy's, as from any other call."""
        if self.max_active_per_owner:
            super().submit(job, max_attempts=max_attempts)
            return
        params = {
            "id": job.id,
            "owner_id": job.owner_id,
            "type": job.type,
            "payload": orjson.dumps(job.payload).decode(),
            "max_attempts": max_attempts,
            "created_at": id_time_ms(job.id) or self.clock.now_ms(),
        }
        with self.one_statement() as connection:
            sql = (
                self._submit_and_wake_sql
                if self._wakes.wake_in_statement(connection)
                else self._submit_sql
            )
            execute_prepared(connection, sql, params)

    def one_statement(self) -> AbstractContextManager[sa.Connection]:
        # A statement on its own is atomic: autocommit spares the BEGIN and
        # COMMIT round trips of a transaction around it.
        return self._autocommit.connect()

    def _mark_succeeded(
        self,
        connection: sa.Connection,
        worker_id: str,
        done: Sequence[tuple[ClaimedJob, dict[str, Any]]],
        now: int,
    ) -> set[ClaimKey]:
        rows = connection.execute(
            self._mark_succeeded_sql,
            {
                "ids": [job.id for job, _ in done],
                "attempts": [job.attempt for job, _ in done],
                "run_ids": [job.run_id for job, _ in done],
                "results": [orjson.dumps(result).decode() for _, result in done],
                "worker_id": worker_id,
                "now": now,
            },
        ).all()
        return {(row.id, row.run_id) for row in rows}
