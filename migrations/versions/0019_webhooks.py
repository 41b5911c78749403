"""webhook endpoints: their streams' read model, their secrets, deliveries and attempts

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-07

POST /webhooks and the routes under it append the events of an endpoint's own stream
(domain/webhook.py); webhooks is their read model, written by a trigger on events
(eventlog/webhook_rows.py). webhook_secrets keeps the signing secrets apart from the log, which
is exported and bundled. webhook_deliveries holds what the dispatcher queued from the log (up to
webhook_checkpoint), webhook_attempts every try to send one.
"""

import sqlalchemy as sa
from alembic import op

from jobledger.eventlog import webhook_rows

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("webhook_id", sa.Text(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=True),
        sa.Column("job_types", sa.JSON(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("secret_id", sa.Text(), nullable=False),
        sa.Column("previous_secret_id", sa.Text(), nullable=True),
        sa.Column("previous_expires_at", sa.Text(), nullable=True),
        sa.Column("created_position", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("updated_at", _time, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("webhooks_tenant", "webhooks", ["tenant", "created_position"])
    op.create_table(
        "webhook_secrets",
        sa.Column("webhook_id", sa.Text(), primary_key=True),
        sa.Column("secret_id", sa.Text(), primary_key=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", _time, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.Text(), primary_key=True),
        sa.Column("webhook_id", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("schedule_from", sa.Integer(), nullable=False),  # attempts made when its retries last began
        sa.Column("next_attempt_at", _time, nullable=False),
        sa.Column("leased_until", _time, nullable=True),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("delivered_at", _time, nullable=True),
        sa.UniqueConstraint("webhook_id", "position", name="webhook_deliveries_webhook_position_key"),
    )
    op.create_index("webhook_deliveries_due", "webhook_deliveries", ["state", "next_attempt_at"])
    op.create_index("webhook_deliveries_job", "webhook_deliveries", ["webhook_id", "job_id", "position"])
    op.create_index("webhook_deliveries_of_job", "webhook_deliveries", ["job_id"])  # a purge rewrites them
    op.create_table(
        "webhook_attempts",
        sa.Column("delivery_id", sa.Text(), primary_key=True),
        sa.Column("attempt", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("attempted_at", _time, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
    )
    op.create_table(
        "webhook_checkpoint",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in webhook_rows.POSTGRES if dialect == "postgresql" else webhook_rows.SQLITE:
        op.execute(statement)


def downgrade() -> None:
    for statement in webhook_rows.DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    for table in ("webhook_checkpoint", "webhook_attempts", "webhook_deliveries", "webhook_secrets", "webhooks"):
        op.drop_table(table)
