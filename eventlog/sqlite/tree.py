"""The log's Merkle tree on SQLite: leaves, complete subtrees and checkpoints (docs/auditing.md).

A builder's step writes on the single writer inside BEGIN IMMEDIATE and first checks that the
tree is still the size it read, so steps never interleave.
"""

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from jobledger.eventlog.records import Checkpoint, Leaf
from jobledger.eventlog.sqlite.connection import Database, first, time_text

_CHUNK = 400  # nodes or positions looked up per statement (SQLite limits the number of parameters)
_LEAF = "SELECT leaf_index, position, job_id, hash FROM merkle_leaves"
_CHECKPOINT = "SELECT tree_size, root_hash, note, issued_at FROM merkle_checkpoints"


def _leaf(row: sqlite3.Row) -> Leaf:
    return Leaf(row["leaf_index"], row["position"], UUID(row["job_id"]), bytes(row["hash"]))


def _checkpoint(row: sqlite3.Row | None) -> Checkpoint | None:
    if row is None:
        return None
    return Checkpoint(row["tree_size"], bytes(row["root_hash"]), row["note"], datetime.fromisoformat(row["issued_at"]))


def _size(conn: sqlite3.Connection) -> tuple[int, int]:
    row = first(conn, "SELECT leaf_index, position FROM merkle_leaves ORDER BY leaf_index DESC LIMIT 1")
    return (0, 0) if row is None else (row["leaf_index"] + 1, row["position"])


class SQLiteTree:
    def __init__(self, db: Database):
        self.db = db

    async def tree_state(self) -> tuple[int, int]:
        return await self.db.reader.run(_size)

    async def tree_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        keys, found = list(keys), {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            values = ", ".join("(?, ?)" for _ in chunk)
            sql = f"SELECT level, idx, hash FROM merkle_nodes WHERE (level, idx) IN (VALUES {values})"
            rows = await self.db.fetch(sql, *(x for key in chunk for x in key))
            found.update({(r["level"], r["idx"]): bytes(r["hash"]) for r in rows})
        return found

    async def extend_tree(self, size: int, leaves: Sequence[Leaf], nodes: Sequence[tuple[int, int, bytes]]) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                if _size(conn)[0] != size:
                    return False
                conn.executemany(
                    "INSERT INTO merkle_leaves (leaf_index, position, job_id, hash) VALUES (?, ?, ?, ?)",
                    [(leaf.leaf_index, leaf.position, leaf.job_id.hex, leaf.hash) for leaf in leaves],
                )
                conn.executemany("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
            return True

        return await self.db.writer.run(write)

    async def leaves_at(self, positions: Sequence[int]) -> dict[int, Leaf]:
        positions, found = list(positions), {}
        for start in range(0, len(positions), _CHUNK):
            chunk = positions[start : start + _CHUNK]
            sql = f"{_LEAF} WHERE position IN ({', '.join('?' * len(chunk))})"
            found.update({leaf.position: leaf for leaf in map(_leaf, await self.db.fetch(sql, *chunk))})
        return found

    async def leaf(self, leaf_index: int) -> Leaf | None:
        rows = await self.db.fetch(f"{_LEAF} WHERE leaf_index = ?", leaf_index)
        return _leaf(rows[0]) if rows else None

    async def leaf_hashes(self, start: int, limit: int) -> list[bytes]:
        sql = "SELECT hash FROM merkle_leaves WHERE leaf_index >= ? ORDER BY leaf_index LIMIT ?"
        return [bytes(r["hash"]) for r in await self.db.fetch(sql, start, limit)]

    async def put_checkpoint(self, checkpoint: Checkpoint) -> Checkpoint:
        c = checkpoint
        await self.db.write(
            "INSERT INTO merkle_checkpoints (tree_size, root_hash, note, issued_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (tree_size) DO NOTHING",
            c.tree_size, c.root_hash, c.note, time_text(c.issued_at),
        )
        return _checkpoint((await self.db.fetch(f"{_CHECKPOINT} WHERE tree_size = ?", c.tree_size))[0])

    async def latest_checkpoint(self) -> Checkpoint | None:
        rows = await self.db.fetch(f"{_CHECKPOINT} ORDER BY tree_size DESC LIMIT 1")
        return _checkpoint(rows[0]) if rows else None

    async def list_checkpoints(self, after: int, limit: int) -> list[Checkpoint]:
        rows = await self.db.fetch(f"{_CHECKPOINT} WHERE tree_size > ? ORDER BY tree_size LIMIT ?", after, limit)
        return [_checkpoint(r) for r in rows]
