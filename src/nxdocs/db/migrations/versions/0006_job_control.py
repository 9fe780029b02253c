"""Job control: listing indexes, retention, idempotency keys, the maintenance leader.

- Jobs are listed per owner newest first by (created_at, id), optionally one
  (type and) state range at a time; retention finds finished jobs by their
  `updated_at`. On a big table these index builds block writes to `jobs`
  while they run (they are made in the migration's transaction).
- `idempotency_keys` holds each owner's keys and the first response to replay.
- `leaders` holds who runs maintenance (one worker across all nodes).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FINISHED = sa.text("state IN ('succeeded', 'failed', 'cancelled')")


def upgrade() -> None:
    op.drop_index("ix_jobs_owner_created", table_name="jobs")
    op.create_index("ix_jobs_owner_created", "jobs", ["owner_id", "created_at", "id"])
    op.create_index(
        "ix_jobs_owner_state_created", "jobs", ["owner_id", "state", "created_at", "id"]
    )
    op.create_index(
        "ix_jobs_owner_type_state_created",
        "jobs",
        ["owner_id", "type", "state", "created_at", "id"],
    )
    op.create_index(
        "ix_jobs_finished",
        "jobs",
        ["updated_at"],
        sqlite_where=_FINISHED,
        postgresql_where=_FINISHED,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("locked_until", sa.BigInteger, nullable=True),
        sa.Column("resource_id", sa.String(40), nullable=True),
        sa.Column("job_id", sa.String(40), nullable=True),
        sa.Column("response_status", sa.Integer, nullable=True),
        sa.Column("response_body", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_idempotency_keys_expires", "idempotency_keys", ["expires_at"])
    op.create_index("ix_idempotency_keys_job", "idempotency_keys", ["job_id"])
    op.create_table(
        "leaders",
        sa.Column("role", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(120), nullable=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("since", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO leaders (role, holder, expires_at, since) VALUES ('maintenance', NULL, 0, 0)"
    )


def downgrade() -> None:
    op.drop_table("leaders")
    op.drop_index("ix_idempotency_keys_job", table_name="idempotency_keys")
    op.drop_index("ix_idempotency_keys_expires", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_jobs_finished", table_name="jobs")
    op.drop_index("ix_jobs_owner_type_state_created", table_name="jobs")
    op.drop_index("ix_jobs_owner_state_created", table_name="jobs")
    op.drop_index("ix_jobs_owner_created", table_name="jobs")
    op.create_index("ix_jobs_owner_created", "jobs", ["owner_id", "created_at"])
