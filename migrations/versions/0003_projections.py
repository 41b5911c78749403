"""asynchronous projections: rows per generation and checkpoints

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "projection_rows",
        sa.Column("projection", sa.Text(), primary_key=True),
        sa.Column("generation", sa.Integer(), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("doc", sa.JSON(), nullable=False),
    )
    op.create_table(
        "projection_checkpoints",
        sa.Column("projection", sa.Text(), primary_key=True),
        sa.Column("generation", sa.Integer(), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _time, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("projection_checkpoints")
    op.drop_table("projection_rows")
