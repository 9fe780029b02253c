"""SQLite job store: one writer at a time, so claiming needs no row locks."""

from __future__ import annotations

import sqlalchemy as sa

from nxdocs.jobs.store import JobStore, waiting_owners_sql


class SqliteJobStore(JobStore):
    # julianday('now') is the same instant for every use within one statement.
    now_sql = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

    # Every transaction starts with BEGIN IMMEDIATE (see nxdocs.db.engine), so
    # this statement runs holding the database's single write lock: no other
    # process can claim between its reads and its UPDATE. The fair claim is
    # PostgreSQL's (see store_postgres.py), but for two things SQLite lacks:
    # each owner's oldest jobs come from a correlated `IN (... LIMIT)` instead
    # of LATERAL, no row locks are needed, and the running jobs are read
    # through their partial index by name (SQLite's planner would otherwise
    # walk every job of every owner to group them).
    claim_sql = sa.text(
        f"""
        WITH RECURSIVE {waiting_owners_sql(now_sql)},
        busy AS (
            SELECT owner_id,
                   count(*) AS everywhere,
                   sum(worker_id = :worker_id) AS here
            FROM jobs INDEXED BY ix_jobs_leases WHERE state = 'running' GROUP BY owner_id
        ),
        candidates AS (
            SELECT next.id, next.run_at,
                   row_number() OVER (PARTITION BY w.owner_id ORDER BY next.run_at, next.id)
                       AS position,
                   coalesce(b.here, 0) AS here,
                   coalesce(b.everywhere, 0) AS everywhere
            FROM waiting w
            JOIN jobs next ON next.id IN (
                SELECT q.id FROM jobs q
                WHERE q.state = 'queued' AND q.owner_id = w.owner_id AND q.run_at <= {now_sql}
                ORDER BY q.run_at LIMIT :window
            )
            LEFT JOIN busy b ON b.owner_id = w.owner_id
            WHERE w.owner_id IS NOT NULL
        )
        UPDATE jobs
        SET state = 'running',
            attempts = attempts + 1,
            worker_id = :worker_id,
            run_id = lower(hex(randomblob(6))),
            lease_expires_at = {now_sql} + :lease_ms
        WHERE id IN (
            SELECT id FROM candidates
            WHERE here + position <= :per_owner
            ORDER BY everywhere + position, run_at, id
            LIMIT :limit
        )
        RETURNING id, owner_id, type, payload, attempts, max_attempts, run_id
        """  # noqa: S608 (built from constants, no input)
    )
