"""The log's Merkle tree on PostgreSQL: leaves, complete subtrees and checkpoints (docs/auditing.md).

Several instances share one tree. A builder's step holds TREE_LOCK for its transaction (short:
one batch of inserts) and first checks that the tree is still the size it read, so one instance
extends it at a time and none writes a leaf twice. Checkpoints are inserted if absent, keyed
by size: two instances never store two roots for one size.
"""

from collections.abc import Sequence

import asyncpg

from jobledger.eventlog import merkle
from jobledger.eventlog.postgres.connection import Database
from jobledger.eventlog.records import Checkpoint, Leaf

TREE_LOCK = 0x6A6C7472  # one builder step at a time, across instances
_BLOCK = "SELECT block, first_position, positions, job_ids, hashes FROM merkle_leaves"
_LAST = f"{_BLOCK} ORDER BY block DESC LIMIT 1"
_BLOCK_COLUMNS = ("block", "first_position", "positions", "job_ids", "hashes")
_CHECKPOINT = "SELECT tree_size, root_hash, note, issued_at FROM merkle_checkpoints"


def _checkpoint(row: asyncpg.Record) -> Checkpoint:
    return Checkpoint(row["tree_size"], bytes(row["root_hash"]), row["note"], row["issued_at"])


def _leaves(row: asyncpg.Record) -> list[Leaf]:
    return merkle.unpack_leaves(row[0], row[2], row[3], row[4])


class PostgresTree:
    def __init__(self, db: Database):
        self.db = db

    async def tree_state(self) -> tuple[int, int]:
        rows = await self.db.fetch(_LAST)
        return merkle.state_of(rows[0] if rows else None)

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
            last = await conn.fetchrow(_LAST)
            if merkle.state_of(last)[0] != size:
                return False
            filling = _leaves(last) if size % merkle.BLOCK else []  # the last block, not full yet
            rows = merkle.block_rows(size, leaves, filling)
            if filling:
                await conn.execute(
                    "UPDATE merkle_leaves SET positions = $2, job_ids = $3, hashes = $4 WHERE block = $1",
                    rows[0][0], *rows[0][2:],
                )
            await conn.copy_records_to_table("merkle_leaves", records=rows[1 if filling else 0 :], columns=_BLOCK_COLUMNS)
            await conn.execute(
                "INSERT INTO merkle_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
                [n[0] for n in nodes], [n[1] for n in nodes], [n[2] for n in nodes],
            )
        return True

    async def leaves_at(self, positions: Sequence[int]) -> dict[int, Leaf]:
        sql = (
            "SELECT DISTINCT b.* FROM unnest($1::bigint[]) AS p(position) CROSS JOIN LATERAL ("
            f"{_BLOCK} WHERE first_position <= p.position ORDER BY first_position DESC LIMIT 1) AS b"
        )
        wanted = set(positions)
        rows = await self.db.fetch(sql, list(wanted))
        return {leaf.position: leaf for row in rows for leaf in _leaves(row) if leaf.position in wanted}

    async def leaf(self, leaf_index: int) -> Leaf | None:
        rows = await self.db.fetch(f"{_BLOCK} WHERE block = $1", leaf_index // merkle.BLOCK)
        found = _leaves(rows[0]) if rows else []
        return found[leaf_index % merkle.BLOCK] if leaf_index % merkle.BLOCK < len(found) else None

    async def leaf_hashes(self, start: int, limit: int) -> list[bytes]:
        sql = "SELECT block, hashes FROM merkle_leaves WHERE block >= $1 ORDER BY block LIMIT $2"
        return merkle.hashes_in(start, limit, await self.db.fetch(sql, *merkle.blocks_for(start, limit)))

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
