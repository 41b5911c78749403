"""the log's Merkle tree: leaves, complete subtrees and signed checkpoints

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

Each settled event becomes a leaf of an RFC 6962 Merkle tree, in position order (positions
may have gaps: a leaf index has none), its leaf hash in merkle_leaves. merkle_nodes keeps the
hash of every complete subtree of 64 leaves and up, (level, idx), so an inclusion or consistency
proof at any size is a few reads by primary key and one block of at most 64 leaf hashes. merkle_checkpoints keeps every signed checkpoint, keyed by size: two
instances can never store two roots for one size. The tree is built by the service after the
appends commit (jobledger.application.checkpoints), from the log already there on the first
start after this migration: nothing is filled here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "merkle_leaves",
        sa.Column("leaf_index", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),  # the leaf hash
        sa.UniqueConstraint("position", name="merkle_leaves_position_key"),
    )
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "merkle_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("issued_at", _time, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("merkle_checkpoints")
    op.drop_table("merkle_nodes")
    op.drop_table("merkle_leaves")
