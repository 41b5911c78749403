"""job types in the log: a type's definition and pauses are events of its own stream

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

PUT /types/{name}, POST /types/{name}/pause and /resume append TypeDefined, TypePaused and
TypeResumed to the type's stream (domain/job_type.py). job_types becomes their read model: a
trigger on events writes the type's row (eventlog/type_rows.py), now with whether it is paused
and the stream version it reflects. Types registered before keep their rows, at version 0.
"""

import sqlalchemy as sa
from alembic import op

from jobledger.eventlog import type_rows

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_types") as batch:
        batch.add_column(sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("paused_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    dialect = op.get_bind().dialect.name
    for statement in type_rows.POSTGRES if dialect == "postgresql" else type_rows.SQLITE:
        op.execute(statement)


def downgrade() -> None:
    for statement in type_rows.DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("job_types") as batch:
        batch.drop_column("version")
        batch.drop_column("paused_reason")
        batch.drop_column("paused")
