"""PostgreSQL: the queue's hot path.

- A statement-level trigger announces inserted jobs to the workers: one
  `NOTIFY nxdocs_jobs` per INSERT statement on `jobs`, however many rows it
  inserts, sent (as every notification) when its transaction commits. The
  enqueue no longer sends its own `pg_notify` in a round trip of its own, and
  a job enqueued alone is one statement. SQLite has no notifications: its
  workers watch the file (`nxdocs.jobs.notify.InProcessNotifier`).
- `jobs` is vacuumed and analyzed every 10,000 changed rows instead of every
  tenth of the table: every job is updated three or four times, and on a table
  of millions of finished jobs the default waits for hundreds of thousands of
  changes, while the partial index of queued jobs fills with dead entries that
  every claim walks and the planner believes no job is queued.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION nxdocs_jobs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('nxdocs_jobs', '');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER nxdocs_jobs_inserted AFTER INSERT ON jobs
        FOR EACH STATEMENT EXECUTE FUNCTION nxdocs_jobs_inserted()
        """
    )
    op.execute(
        """
        ALTER TABLE jobs SET (
            autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000,
            autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 10000
        )
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE jobs RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,"
        " autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)"
    )
    op.execute("DROP TRIGGER nxdocs_jobs_inserted ON jobs")
    op.execute("DROP FUNCTION nxdocs_jobs_inserted()")
