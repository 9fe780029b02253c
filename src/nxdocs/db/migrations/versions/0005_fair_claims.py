"""Claims go round-robin over owners: queued jobs are indexed by owner.

The fair claim finds the owners with runnable jobs by a skip scan, and each
one's oldest jobs, through (owner_id, run_at) over queued rows only; the
run_at-only index it replaces is no longer read.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_QUEUED = sa.text("state = 'queued'")


def upgrade() -> None:
    op.create_index(
        "ix_jobs_queued_by_owner",
        "jobs",
        ["owner_id", "run_at"],
        sqlite_where=_QUEUED,
        postgresql_where=_QUEUED,
    )
    op.drop_index("ix_jobs_claimable", table_name="jobs")


def downgrade() -> None:
    op.create_index(
        "ix_jobs_claimable", "jobs", ["run_at"], sqlite_where=_QUEUED, postgresql_where=_QUEUED
    )
    op.drop_index("ix_jobs_queued_by_owner", table_name="jobs")
