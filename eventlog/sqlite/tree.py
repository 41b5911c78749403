"""The log's Merkle tree on SQLite: leaves, complete subtrees and checkpoints (docs/auditing.md).

A builder's step writes on the single writer inside BEGIN IMMEDIATE and first checks that the
tree is still the size it read, so steps never interleave.
"""

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from jobledger.eventlog import merkle
from jobledger.eventlog.records import Checkpoint, Leaf
from jobledger.eventlog.sqlite.connection import Database, first, time_text

_CHUNK = 400  # nodes looked up per statement (SQLite limits the number of parameters)
_BLOCK = "SELECT block, first_position, positions, job_ids, hashes FROM merkle_leaves"
_CHECKPOINT = "SELECT tree_size, root_hash, note, issued_at FROM merkle_checkpoints"


def _checkpoint(row: sqlite3.Row | None) -> Checkpoint | None:
    if row is None:
        return None
    return Checkpoint(row["tree_size"], bytes(row["root_hash"]), row["note"], datetime.fromisoformat(row["issued_at"]))


def _last(conn: sqlite3.Connection) -> sqlite3.Row | None:
    return first(conn, f"{_BLOCK} ORDER BY block DESC LIMIT 1")


def _leaves(row: sqlite3.Row) -> list[Leaf]:
    return merkle.unpack_leaves(row[0], row[2], row[3], row[4])


class SQLiteTree:
    def __init__(self, db: Database):
        self.db = db

    async def tree_state(self) -> tuple[int, int]:
        return merkle.state_of(await self.db.reader.run(_last))

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
                last = _last(conn)
                if merkle.state_of(last)[0] != size:
                    return False
                filling = _leaves(last) if size % merkle.BLOCK else []  # the last block, not full yet
                conn.executemany(
                    "INSERT OR REPLACE INTO merkle_leaves (block, first_position, positions, job_ids, hashes) "
                    "VALUES (?, ?, ?, ?, ?)",
                    merkle.block_rows(size, leaves, filling),
                )
                conn.executemany("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
            return True

        return await self.db.writer.run(write)

    async def leaves_at(self, positions: Sequence[int]) -> dict[int, Leaf]:
        wanted = set(positions)

        def read(conn: sqlite3.Connection) -> dict[int, Leaf]:
            blocks = {}
            for position in wanted:
                row = first(conn, f"{_BLOCK} WHERE first_position <= ? ORDER BY first_position DESC LIMIT 1", (position,))
                if row is not None:
                    blocks[row["block"]] = row
            return {leaf.position: leaf for row in blocks.values() for leaf in _leaves(row) if leaf.position in wanted}

        return await self.db.reader.run(read)

    async def leaf(self, leaf_index: int) -> Leaf | None:
        rows = await self.db.fetch(f"{_BLOCK} WHERE block = ?", leaf_index // merkle.BLOCK)
        found = _leaves(rows[0]) if rows else []
        return found[leaf_index % merkle.BLOCK] if leaf_index % merkle.BLOCK < len(found) else None

    async def leaf_hashes(self, start: int, limit: int) -> list[bytes]:
        sql = "SELECT block, hashes FROM merkle_leaves WHERE block >= ? ORDER BY block LIMIT ?"
        return merkle.hashes_in(start, limit, await self.db.fetch(sql, *merkle.blocks_for(start, limit)))

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
