"""Exports and the server's own secrets (the download-link signing key).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
        sa.Column("artifact_id", sa.String(40), nullable=False),
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("pages", sa.Text, nullable=True),
        sa.Column("pages_exported", sa.Integer, nullable=True),
        sa.Column("content_type", sa.String(120), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("file_key", sa.String(300), nullable=True),
        sa.Column("file_size", sa.BigInteger, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("completed_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_exports_owner_created", "exports", ["owner_id", "created_at"])
    op.create_index("ix_exports_completed", "exports", ["completed_at"])
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("server_secrets")
    op.drop_table("exports")
