"""API keys: stored only as a hash, with a role, a tenant and optional job types

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.Text(), primary_key=True),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("types", sa.JSON(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("revoked_at", _time, nullable=True),
        sa.UniqueConstraint("key_hash", name="api_keys_key_hash_key"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
