"""schedules: a schedule's definition, pauses and fires are events of its own stream

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-07

POST /schedules and its changes append ScheduleCreated, ScheduleUpdated, SchedulePaused,
ScheduleResumed and ScheduleDeleted to the schedule's stream, and each fire time handled appends
ScheduleFired (with its job, created in the same transaction), ScheduleFireSkipped or
ScheduleFiresMissed (domain/schedule.py). The schedules table is their read model, written by a
trigger on the log's inserts (eventlog/schedule_rows.py); the scheduler finds what is due from
its partial index on next_fire_at.
"""

import sqlalchemy as sa
from alembic import op

from jobledger.eventlog import schedule_rows

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
_active = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("tenant", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("stream_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("paused_reason", sa.Text()),
        sa.Column("next_fire_at", _time),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("last_job_id", sa.Uuid()),
        sa.Column("last_fires", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("updated_at", _time, nullable=False),
    )
    op.create_index("schedules_due", "schedules", ["next_fire_at"], postgresql_where=_active, sqlite_where=_active)
    dialect = op.get_bind().dialect.name
    for statement in schedule_rows.POSTGRES if dialect == "postgresql" else schedule_rows.SQLITE:
        op.execute(statement)


def downgrade() -> None:
    for statement in schedule_rows.DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("schedules")
