"""an index for the retention sweep

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_finished = sa.text("status IN ('completed', 'failed', 'cancelled', 'expired')")


def upgrade() -> None:
    op.create_index("job_status_finished", "job_status", ["updated_at"], postgresql_where=_finished, sqlite_where=_finished)


def downgrade() -> None:
    op.drop_index("job_status_finished", "job_status")
