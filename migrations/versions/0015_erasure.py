"""erasure: an erased job's events keep the commitments of their bytes as they were

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

POST /jobs/{id}/purge and POST /jobs/purge erase finished jobs' data (domain/erasure.py): each
event that held it is rewritten without it, and erased_events keeps the chain digest and the
Merkle leaf hash of its bytes as they were, so verification and proofs still hold.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_events",
        sa.Column("position", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("stream_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erased_events")
