"""PostgreSQL job store: many workers claim concurrently with SKIP LOCKED."""

from __future__ import annotations

import sqlalchemy as sa

from nxdocs.jobs.store import JobStore


class PostgresJobStore(JobStore):
    # statement_timestamp(): one instant for the whole statement, taken by the
    # server when the statement starts, so every row compares against the same
    # "now" and no process's clock is involved.
    now_sql = "(EXTRACT(EPOCH FROM statement_timestamp()) * 1000)::bigint"

    # FOR UPDATE SKIP LOCKED locks the rows this worker picks and makes every
    # concurrent claimer skip them instead of waiting, so N workers take N
    # disjoint batches in one round trip each. The CTE is materialised once,
    # so the LIMIT is applied to the locked set exactly (an `IN (subquery)`
    # may be re-evaluated by the planner). Rows are read through the partial
    # index ix_jobs_claimable in run_at order.
    claim_sql = sa.text(
        f"""
        WITH picked AS MATERIALIZED (
            SELECT id FROM jobs
            WHERE state = 'queued' AND run_at <= {now_sql}
            ORDER BY run_at
            LIMIT :limit
            FOR UPDATE SKIP LOCKED
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
