"""SQLite job store: one writer at a time, so claiming needs no row locks."""

from __future__ import annotations

import sqlalchemy as sa

from nxdocs.jobs.store import JobStore


class SqliteJobStore(JobStore):
    # julianday('now') is the same instant for every use within one statement.
    now_sql = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

    # Every transaction starts with BEGIN IMMEDIATE (see nxdocs.db.engine), so
    # this statement runs holding the database's single write lock: no other
    # process can claim between our SELECT and UPDATE. The subquery walks the
    # partial index ix_jobs_claimable in run_at order.
    claim_sql = sa.text(
        f"""
        UPDATE jobs
        SET state = 'running',
            attempts = attempts + 1,
            worker_id = :worker_id,
            run_id = lower(hex(randomblob(6))),
            lease_expires_at = {now_sql} + :lease_ms
        WHERE id IN (
            SELECT id FROM jobs
            WHERE state = 'queued' AND run_at <= {now_sql}
            ORDER BY run_at
            LIMIT :limit
        )
        RETURNING id, owner_id, type, payload, attempts, max_attempts, run_id
        """  # noqa: S608 (built from constants, no input)
    )
