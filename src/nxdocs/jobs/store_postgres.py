"""PostgreSQL job store: many workers claim concurrently with SKIP LOCKED."""

from __future__ import annotations

import sqlalchemy as sa

from nxdocs.jobs.store import JobStore, waiting_owners_sql


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
    #   share (the owner's running jobs plus its place in the owner's line);
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
        ),
        picked AS MATERIALIZED (
            SELECT j.id FROM ranked r JOIN jobs j ON j.id = r.id
            WHERE j.state = 'queued'
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
