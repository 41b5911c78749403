"""job_status.finished_at: retention's column, so that a progress report is a HOT update again

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

0004 indexed `updated_at` for the retention sweep. Every report changes `updated_at`, and
PostgreSQL updates a row in place (HOT, no index touched) only when no indexed column
changes: since 0004 every progress report wrote a new entry into each of job_status's
indexes. Retention now reads `finished_at`, set once when a job becomes terminal
(cleared if it is retried), and `updated_at` is indexed no more. jobledger_append writes
the new column: the function is 0001's with the column added.
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
_finished = sa.text("status IN ('completed', 'failed', 'cancelled', 'expired')")

# 0001's jobledger_append, changed only where it names job_status's columns
_WRITES_FINISHED_AT = [
    (
        "created_at, updated_at, version, created_position, last_position, doc)",
        "created_at, updated_at, finished_at, version, created_position, last_position, doc)",
    ),
    ("x.created_at, x.updated_at, x.version,", "x.created_at, x.updated_at, x.finished_at, x.version,"),
    (
        "updated_at = EXCLUDED.updated_at, version = EXCLUDED.version,",
        "updated_at = EXCLUDED.updated_at, finished_at = EXCLUDED.finished_at, version = EXCLUDED.version,",
    ),
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("job_status", sa.Column("finished_at", _time, nullable=True))
    finished = "(doc->>'finished_at')::timestamptz" if postgres else "json_extract(doc, '$.finished_at')"
    op.execute(f"UPDATE job_status SET finished_at = {finished} WHERE {_finished.text}")
    op.drop_index("job_status_finished", "job_status")
    op.create_index("job_status_finished", "job_status", ["finished_at"], postgresql_where=_finished, sqlite_where=_finished)
    if postgres:
        op.execute(append_function())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_first_function())
    op.drop_index("job_status_finished", "job_status")
    op.create_index("job_status_finished", "job_status", ["updated_at"], postgresql_where=_finished, sqlite_where=_finished)
    op.drop_column("job_status", "finished_at")


def append_function() -> str:
    """The jobledger_append this revision installs (0008's downgrade installs it again)."""
    function = _first_function()
    for old, new in _WRITES_FINISHED_AT:
        assert function.count(old) == 1, old
        function = function.replace(old, new)
    return function


def _first_function() -> str:
    """0001's function (a module name cannot start with a digit, so it is loaded by its path)."""
    spec = importlib.util.spec_from_file_location("jobledger_migration_0001", Path(__file__).with_name("0001_initial.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.APPEND_FUNCTION
