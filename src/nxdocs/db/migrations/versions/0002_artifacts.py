"""Brands and artifacts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brands",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("ai_instruction", sa.Text, nullable=True),
        sa.Column("theme_id", sa.String(40), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_brands_owner_created", "brands", ["owner_id", "created_at"])
    op.create_table(
        "artifacts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("page_count", sa.Integer, nullable=True),
        sa.Column("brand_id", sa.String(40), nullable=True),
        sa.Column("theme_id", sa.String(40), nullable=True),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("document", sa.Text, nullable=True),
        sa.Column("generation", sa.Text, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_artifacts_owner_created", "artifacts", ["owner_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("artifacts")
    op.drop_table("brands")
