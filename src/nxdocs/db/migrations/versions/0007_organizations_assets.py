"""Organizations, assets and artifact variations.

- `organizations` and `org_members`: an organization is also an owner (a row in
  `owners` with the same `org_...` id), so the work it owns is scoped, counted
  and shared fairly like a user's. `api_keys.org_id` is a key's organization.
- `assets`: uploaded images, stored in the blob store.
- `artifacts.variation_of` / `variation`: the variations one create asked for.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(40), sa.ForeignKey("owners.id"), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "org_members",
        sa.Column("org_id", sa.String(40), sa.ForeignKey("organizations.id"), primary_key=True),
        sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_org_members_owner", "org_members", ["owner_id"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("org_id", sa.String(40), nullable=True))
        batch.create_foreign_key("fk_api_keys_org_id", "organizations", ["org_id"], ["id"])
    op.add_column("artifacts", sa.Column("variation_of", sa.String(40), nullable=True))
    op.add_column("artifacts", sa.Column("variation", sa.Integer, nullable=True))
    op.create_index("ix_artifacts_variation_of", "artifacts", ["variation_of"])
    op.create_table(
        "assets",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("file_key", sa.String(300), nullable=False),
        sa.Column("brand_id", sa.String(40), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_assets_owner_created", "assets", ["owner_id", "created_at", "id"])
    op.create_index("ix_assets_brand", "assets", ["brand_id"])


def downgrade() -> None:
    op.drop_table("assets")
    op.drop_index("ix_artifacts_variation_of", table_name="artifacts")
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("variation")
        batch.drop_column("variation_of")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("fk_api_keys_org_id", type_="foreignkey")
        batch.drop_column("org_id")
    op.drop_table("org_members")
    op.drop_table("organizations")
