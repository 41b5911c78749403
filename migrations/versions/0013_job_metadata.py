"""the metadata index: lists filter on a job's metadata from an index (eventlog/metadata.py)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09

GET /jobs?metadata.user_id=42 reads job_metadata's (tenant, key, value, created_position)
index newest first and joins each match to its status row: it never scans job_status.
Triggers on job_status write a job's rows when its status row is inserted and delete them
with it. The jobs already there are indexed here.
"""

import sqlalchemy as sa
from alembic import op

from jobledger.eventlog import metadata

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_metadata",
        sa.Column("job_id", sa.Uuid(), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_position", sa.BigInteger(), nullable=False),
    )
    op.create_index(metadata.INDEX, "job_metadata", ["tenant", "key", "value", "created_position"])
    if op.get_bind().dialect.name == "postgresql":
        statements = [*metadata.POSTGRES, *metadata.POSTGRES_TRIGGERS, metadata.POSTGRES_FILL]
    else:
        statements = [*metadata.SQLITE_TRIGGERS, metadata.SQLITE_FILL]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS job_status_metadata_added" + _on_table())
    op.execute("DROP TRIGGER IF EXISTS job_status_metadata_removed" + _on_table())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS jobledger_metadata_added()")
        op.execute("DROP FUNCTION IF EXISTS jobledger_metadata_removed()")
    op.drop_table("job_metadata")


def _on_table() -> str:
    return " ON job_status" if op.get_bind().dialect.name == "postgresql" else ""
