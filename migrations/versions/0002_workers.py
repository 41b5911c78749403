"""worker queue indexes and the job type registry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
_queued = sa.text("status = 'queued'")
_running = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_index(
        "job_status_queue", "job_status", ["type", "priority", "created_position"],
        postgresql_where=_queued, sqlite_where=_queued,
    )
    op.create_index("job_status_leases", "job_status", ["lease_expires_at"], postgresql_where=_running, sqlite_where=_running)
    if op.get_bind().dialect.name == "postgresql":
        # room on each page for HOT updates: progress reports change no indexed column
        op.execute("ALTER TABLE job_status SET (fillfactor = 70)")
    op.create_table(
        "job_types",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("updated_at", _time, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_types")
    op.drop_index("job_status_leases", "job_status")
    op.drop_index("job_status_queue", "job_status")
