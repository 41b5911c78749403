"""each event's Merkle leaf hash, worked out at append and stored with it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10

The tree's builder (application/checkpoints.py) read every event's whole body again and hashed
it to make its leaf: two thirds of its cost per event, on the same CPUs as the appends. Now
the appender, which builds the event's canonical bytes for its chain digest anyway, hashes
them a second time for the leaf (sha256 of 0x00 and the bytes, RFC 6962) and stores it in
events.leaf; the builder reads only (position, job id, leaf). jobledger_append takes the leaf
hashes as e_leaf (last, default NULL); the function is 0009's otherwise.

The leaf column is NULL for the events already there (and for imported ones): the builder
hashes those from the event as before, so the tree, its leaves and every checkpoint stay
exactly what they were; nothing is converted. `jobledger audit verify` never trusts the
column: it hashes every event's bytes again and compares them with the tree's leaves.
"""

import runpy
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# 0009's function, with the leaf hashes taken and inserted (each piece must be found exactly once).
_CHANGES = (
    ("s_doc json[]\n) RETURNS", "s_doc json[], e_leaf bytea[] DEFAULT NULL\n) RETURNS"),
    ("recorded_at, hash, tx)\n", "recorded_at, hash, tx, leaf)\n"),
    ("ev.m, ev.at, ev.h, tx\n", "ev.m, ev.at, ev.h, tx, ev.l\n"),
    ("e_meta, e_at, e_hash)\n", "e_meta, e_at, e_hash, e_leaf)\n"),
    ("AS ev(i, v, t, sc, d, m, at, h, k)", "AS ev(i, v, t, sc, d, m, at, h, l, k)"),
)


def _revision_0009() -> dict:
    """0009's module's names, loaded by its path (a module name cannot start with a digit)."""
    return runpy.run_path(str(Path(__file__).with_name("0009_typed_status_rows.py")))


def append_function() -> str:
    """The jobledger_append this revision installs."""
    text = _revision_0009()["APPEND_FUNCTION"]
    for old, new in _CHANGES:
        if text.count(old) != 1:
            raise RuntimeError(f"0009's jobledger_append does not hold {old!r} once")
        text = text.replace(old, new)
    return text


def upgrade() -> None:
    op.add_column("events", sa.Column("leaf", sa.LargeBinary()))
    if op.get_bind().dialect.name == "postgresql":
        arguments = _revision_0009()["_ARGUMENTS"]
        op.execute(f"DROP FUNCTION jobledger_append({arguments})")
        op.execute(append_function())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        previous = _revision_0009()
        arguments = previous["_ARGUMENTS"]
        op.execute(f"DROP FUNCTION jobledger_append({arguments}, bytea[])")
        op.execute(previous["APPEND_FUNCTION"])
    op.drop_column("events", "leaf")
