"""the claim's queue indexes in claim order (priority descending, then oldest)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

The queue index of 0002 held priority ascending: a claim, which takes the highest
priority first, could not read it in order and sorted every queued job of its types
(4 ms at 10,000 queued jobs, under the append lock). Now one index per type and one
across types hold the queue in the order claims take it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_queued = sa.text("status = 'queued'")


def upgrade() -> None:
    op.drop_index("job_status_queue", "job_status")
    op.create_index(
        "job_status_queue", "job_status", ["type", sa.text("priority DESC"), "created_position"],
        postgresql_where=_queued, sqlite_where=_queued,
    )
    op.create_index(
        "job_status_queue_any", "job_status", [sa.text("priority DESC"), "created_position"],
        postgresql_where=_queued, sqlite_where=_queued,
    )


def downgrade() -> None:
    op.drop_index("job_status_queue_any", "job_status")
    op.drop_index("job_status_queue", "job_status")
    op.create_index(
        "job_status_queue", "job_status", ["type", "priority", "created_position"],
        postgresql_where=_queued, sqlite_where=_queued,
    )
