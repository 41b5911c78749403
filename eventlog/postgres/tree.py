"""The log's Merkle tree on PostgreSQL: leaves, complete subtrees and checkpoints (docs/auditing.md).

Several instances share one tree. A builder's step holds TREE_LOCK for its transaction (short:
one batch of inserts) and first checks that the tree is still the size it read, so one instance
extends it at a time and none writes a leaf twice. Checkpoints are inserted if absent, keyed
by size: two instances never store two roots for one size.
"""

import operator
from collections.abc import Sequence

import asyncpg

from jobledger.eventlog.postgres.connection import Database
from jobledger.eventlog.records import Checkpoint, Leaf

TREE_LOCK = 0x6A6C7472  # one builder step at a time, across instances
_SIZE = "SELECT leaf_index, position FROM merkle_leaves ORDER BY leaf_index DESC LIMIT 1"
_LEAF = "SELECT leaf_index, position, job_id, hash FROM merkle_leaves"
_LEAF_COLUMNS = ("leaf_index", "position", "job_id", "hash")
_leaf_row = operator.attrgetter(*_LEAF_COLUMNS)  # a Leaf as COPY takes it
_CHECKPOINT = "SELECT tree_size, root_hash, note, issued_at FROM merkle_checkpoints"


def _leaf(row: asyncpg.Record) -> Leaf:
    return Leaf(row["leaf_index"], row["position"], row["job_id"], bytes(row["hash"]))


def _checkpoint(row: asyncpg.Record) -> Checkpoint:
    return Checkpoint(row["tree_size"], bytes(row["root_hash"]), row["note"], row["issued_at"])


def _state(row: asyncpg.Record | None) -> tuple[int, int]:
    return (0, 0) if row is None else (row["leaf_index"] + 1, row["position"])


class PostgresTree:
    def __init__(self, db: Database):
        self.db = db

    async def tree_state(self) -> tuple[int, int]:
        rows = await self.db.fetch(_SIZE)
        return _state(rows[0] if rows else None)

    async def tree_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        sql = (
            "SELECT n.level, n.idx, n.hash FROM unnest($1::smallint[], $2::bigint[]) AS k(level, idx) "
            "JOIN merkle_nodes n ON n.level = k.level AND n.idx = k.idx"
        )
        rows = await self.db.fetch(sql, [k[0] for k in keys], [k[1] for k in keys])
        return {(r["level"], r["idx"]): bytes(r["hash"]) for r in rows}

    async def extend_tree(self, size: int, leaves: Sequence[Leaf], nodes: Sequence[tuple[int, int, bytes]]) -> bool:
        async with self.db.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", TREE_LOCK)
            if _state(await conn.fetchrow(_SIZE))[0] != size:
                return False
            await conn.copy_records_to_table("merkle_leaves", records=map(_leaf_row, leaves), columns=_LEAF_COLUMNS)
            await conn.execute(
                "INSERT INTO merkle_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
                [n[0] for n in nodes], [n[1] for n in nodes], [n[2] for n in nodes],
            )
        return True

    async def leaves_at(self, positions: Sequence[int]) -> dict[int, Leaf]:
        rows = await self.db.fetch(f"{_LEAF} WHERE position = ANY($1::bigint[])", list(positions))
        return {leaf.position: leaf for leaf in map(_leaf, rows)}

    async def leaf(self, leaf_index: int) -> Leaf | None:
        rows = await self.db.fetch(f"{_LEAF} WHERE leaf_index = $1", leaf_index)
        return _leaf(rows[0]) if rows else None

    async def leaf_hashes(self, start: int, limit: int) -> list[bytes]:
        sql = "SELECT hash FROM merkle_leaves WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2"
        return [bytes(r["hash"]) for r in await self.db.fetch(sql, start, limit)]

    async def put_checkpoint(self, checkpoint: Checkpoint) -> Checkpoint:
        c = checkpoint
        async with self.db.connection() as conn:
            await conn.execute(
                "INSERT INTO merkle_checkpoints (tree_size, root_hash, note, issued_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (tree_size) DO NOTHING",
                c.tree_size, c.root_hash, c.note, c.issued_at,
            )
            return _checkpoint(await conn.fetchrow(f"{_CHECKPOINT} WHERE tree_size = $1", c.tree_size))

    async def latest_checkpoint(self) -> Checkpoint | None:
        rows = await self.db.fetch(f"{_CHECKPOINT} ORDER BY tree_size DESC LIMIT 1")
        return _checkpoint(rows[0]) if rows else None

    async def list_checkpoints(self, after: int, limit: int) -> list[Checkpoint]:
        rows = await self.db.fetch(f"{_CHECKPOINT} WHERE tree_size > $1 ORDER BY tree_size LIMIT $2", after, limit)
        return [_checkpoint(r) for r in rows]
