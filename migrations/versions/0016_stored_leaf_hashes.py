"""each event's Merkle leaf hash, worked out at append and stored with it

Revision ID: 0016
Revises: 0015
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

from jobledger.eventlog import merkle
from jobledger.eventlog.records import Leaf

revision = "0016"
down_revision = "0015"
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


_BLOCKS = sa.table(
    "merkle_leaves_0016", sa.column("block"), sa.column("first_position"), sa.column("positions"), sa.column("job_ids"),
    sa.column("hashes"),
)
_ROWS = sa.table(
    "merkle_leaves_0012", sa.column("leaf_index"), sa.column("position"), sa.column("job_id", sa.Uuid()),
    sa.column("hash", sa.LargeBinary()),
)
_PAGE = 1000 * merkle.BLOCK  # leaves converted at a time, whole blocks


def _create(name: str, blocks: bool) -> None:
    """merkle_leaves as 0016 has it (`blocks`: a row per 64 leaves) or as 0012 had it (a row per leaf)."""
    key = sa.Column("block" if blocks else "leaf_index", sa.BigInteger(), primary_key=True, autoincrement=False)
    if blocks:
        columns = [sa.Column("first_position", sa.BigInteger(), nullable=False),
                   *(sa.Column(c, sa.LargeBinary(), nullable=False) for c in ("positions", "job_ids", "hashes")),
                   sa.UniqueConstraint("first_position", name="merkle_leaves_first_position_key")]  # fmt: skip
    else:
        columns = [sa.Column("position", sa.BigInteger(), nullable=False), sa.Column("job_id", sa.Uuid(), nullable=False),
                   sa.Column("hash", sa.LargeBinary(), nullable=False),
                   sa.UniqueConstraint("position", name="merkle_leaves_position_key")]  # fmt: skip
    op.create_table(name, key, *columns)


def _swap(old: str, new: str) -> None:
    """merkle_leaves (renamed `old`, its rows converted into `new`) gives way to `new`."""
    op.drop_table(old)
    op.rename_table(new, "merkle_leaves")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE merkle_leaves RENAME CONSTRAINT {new}_pkey TO merkle_leaves_pkey")


def _leaf(row) -> Leaf:
    return Leaf(row.leaf_index, row.position, row.job_id, bytes(row.hash))


def upgrade() -> None:
    op.add_column("events", sa.Column("leaf", sa.LargeBinary()))
    if op.get_bind().dialect.name == "postgresql":
        arguments = _revision_0009()["_ARGUMENTS"]
        op.execute(f"DROP FUNCTION jobledger_append({arguments})")
        op.execute(append_function())
    # merkle_leaves: a row per leaf becomes a row per block of 64 leaves, the same leaves.
    op.rename_table("merkle_leaves", "merkle_leaves_0012")
    _create("merkle_leaves_0016", blocks=True)
    bind, start = op.get_bind(), 0
    while leaves := [_leaf(r) for r in bind.execute(
        sa.select(_ROWS).where(_ROWS.c.leaf_index >= start).order_by(_ROWS.c.leaf_index).limit(_PAGE)
    )]:  # fmt: skip
        rows = merkle.block_rows(start, leaves, [])
        bind.execute(_BLOCKS.insert(), [dict(zip(_BLOCKS.c.keys(), row, strict=True)) for row in rows])
        start += len(leaves)
    _swap("merkle_leaves_0012", "merkle_leaves_0016")


def downgrade() -> None:
    op.rename_table("merkle_leaves", "merkle_leaves_0016")
    _create("merkle_leaves_0012", blocks=False)
    bind, block = op.get_bind(), 0
    while blocks := list(bind.execute(
        sa.select(_BLOCKS).where(_BLOCKS.c.block >= block).order_by(_BLOCKS.c.block).limit(1000)
    )):  # fmt: skip
        leaves = [leaf for b in blocks for leaf in merkle.unpack_leaves(b.block, b.positions, b.job_ids, b.hashes)]
        bind.execute(_ROWS.insert(), [
            {"leaf_index": x.leaf_index, "position": x.position, "job_id": x.job_id, "hash": x.hash} for x in leaves
        ])  # fmt: skip
        block = blocks[-1].block + 1
    _swap("merkle_leaves_0016", "merkle_leaves_0012")
    if op.get_bind().dialect.name == "postgresql":
        previous = _revision_0009()
        arguments = previous["_ARGUMENTS"]
        op.execute(f"DROP FUNCTION jobledger_append({arguments}, bytea[])")
        op.execute(previous["APPEND_FUNCTION"])
    op.drop_column("events", "leaf")
