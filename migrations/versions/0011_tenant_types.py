"""job types belong to a tenant: job_types is keyed by (tenant, name)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08

Until 0010 one registry served every tenant: a tenant's admin could set a schema or a
max_running that held back another tenant's creates and claims, and GET /types listed every
tenant's schemas. Now each tenant has its own types, as it has its own jobs. The types known
so far go to the tenant "default" (the tenant of open mode, of keys created without one, and
of the types file loaded at start).

The table is rebuilt (SQLite cannot change a primary key in place): a new table beside the
old one, the rows copied, the old one dropped and the new one renamed. A downgrade keeps the
tenant "default"'s types only: the others' names could collide in a registry keyed by name.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
DEFAULT_TENANT = "default"


def _swap(new_columns: list[sa.Column], copy: str) -> None:
    op.create_table("job_types_next", *new_columns)
    op.execute(copy)
    op.drop_table("job_types")
    op.rename_table("job_types_next", "job_types")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE job_types RENAME CONSTRAINT job_types_next_pkey TO job_types_pkey")


def upgrade() -> None:
    _swap(
        [
            sa.Column("tenant", sa.Text(), primary_key=True),
            sa.Column("name", sa.Text(), primary_key=True),
            sa.Column("config", sa.JSON(), nullable=False),
            sa.Column("updated_at", _time, nullable=False),
        ],
        "INSERT INTO job_types_next (tenant, name, config, updated_at) "
        f"SELECT '{DEFAULT_TENANT}', name, config, updated_at FROM job_types",
    )


def downgrade() -> None:
    _swap(
        [
            sa.Column("name", sa.Text(), primary_key=True),
            sa.Column("config", sa.JSON(), nullable=False),
            sa.Column("updated_at", _time, nullable=False),
        ],
        "INSERT INTO job_types_next (name, config, updated_at) "
        f"SELECT name, config, updated_at FROM job_types WHERE tenant = '{DEFAULT_TENANT}'",
    )
