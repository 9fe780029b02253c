"""PostgreSQL: inserted jobs no longer notify from a trigger.

Migration 0009's statement-level trigger sent one `NOTIFY nxdocs_jobs` per
INSERT, so one per job enqueued alone, and every listening worker paid for
each. The enqueueing process now announces new jobs itself, at most once per
short window and never leaving the last job of a burst unannounced
(`nxdocs.jobs.wake_throttle`).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER nxdocs_jobs_inserted ON jobs")
    op.execute("DROP FUNCTION nxdocs_jobs_inserted()")


def downgrade() -> None:
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
