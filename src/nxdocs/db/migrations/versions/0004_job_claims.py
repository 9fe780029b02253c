"""Jobs carry the token of their current claim (`run_id`) and count the times a
worker shutdown released them (`releases`).

`run_id` is new at every claim, even when a release or a snooze hands the
attempt number back, so a write fenced on it can only come from that claim.
A release hands the attempt back; past `--max-releases` it no longer does,
so a job that always outlives the shutdown grace period still ends.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "jobs", sa.Column("releases", sa.Integer, nullable=False, server_default=sa.text("0"))
    )
    op.add_column("jobs", sa.Column("run_id", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "run_id")
    op.drop_column("jobs", "releases")
