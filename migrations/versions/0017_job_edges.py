"""dependencies: the job_edges table, written by a trigger on JobCreated events that name parents

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

A job created with `depends_on` waits (the new status `waiting`) until its parents end
(domain/dependencies.py). job_edges holds each (parent, child, on_failure), keyed by the parent:
the children a parent's end releases or cancels. A trigger on events writes it from the
JobCreated event (eventlog/edge_rows.py), so the log stays its source. A waiting job expires like
a queued one: the expiry index takes `waiting` too.
"""

import sqlalchemy as sa
from alembic import op

from jobledger.eventlog import edge_rows

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_ACTIVE = "status IN ('waiting', 'queued', 'running')"
_ACTIVE_BEFORE = "status IN ('queued', 'running')"


def _expiry_index(where: str) -> None:
    op.drop_index("job_status_expiry", table_name="job_status")
    predicate = sa.text(where)
    op.create_index("job_status_expiry", "job_status", ["expires_at"], postgresql_where=predicate, sqlite_where=predicate)


def upgrade() -> None:
    op.create_table(
        "job_edges",
        sa.Column("parent", sa.Uuid(), nullable=False),
        sa.Column("child", sa.Uuid(), nullable=False),
        sa.Column("on_failure", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("parent", "child"),
    )
    op.create_index("job_edges_child", "job_edges", ["child"])
    dialect = op.get_bind().dialect.name
    for statement in edge_rows.POSTGRES if dialect == "postgresql" else edge_rows.SQLITE:
        op.execute(statement)
    _expiry_index(_ACTIVE)


def downgrade() -> None:
    _expiry_index(_ACTIVE_BEFORE)
    for statement in edge_rows.DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_index("job_edges_child", table_name="job_edges")
    op.drop_table("job_edges")
