"""Storage of asynchronous projections on SQLite.

Rows and checkpoint are written in one transaction on the single writer, and only if
the checkpoint is still where the batch started (see postgres/projections.py).
"""

import sqlite3
from datetime import datetime
from typing import Any

from jobledger.eventlog import codec, trigger_models
from jobledger.eventlog.sqlite.connection import Database, first, time_text

_LOAD_CHUNK = 500  # keys looked up per statement (SQLite limits the number of parameters)


class SQLiteProjections:
    def __init__(self, db: Database):
        self.db = db

    async def ensure_projection(self, name: str, now: datetime) -> None:
        """Give `name` its first, active generation unless it has one."""
        sql = (
            "INSERT OR IGNORE INTO projection_checkpoints (projection, generation, position, active, updated_at) "
            "SELECT ?, 1, 0, 1, ? WHERE NOT EXISTS (SELECT 1 FROM projection_checkpoints WHERE projection = ?)"
        )
        await self.db.write(sql, name, time_text(now), name)

    async def start_generation(self, name: str, active: bool, now: datetime) -> int:
        def start(conn: sqlite3.Connection) -> int:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                sql = "SELECT coalesce(max(generation), 0) + 1 AS next FROM projection_checkpoints WHERE projection = ?"
                generation = first(conn, sql, (name,))["next"]
                conn.execute(
                    "INSERT INTO projection_checkpoints (projection, generation, position, active, updated_at) "
                    "VALUES (?, ?, 0, ?, ?)", (name, generation, active, time_text(now)),
                )
            return generation

        return await self.db.writer.run(start)

    async def projection_checkpoints(self) -> list[tuple[str, int, int, bool]]:
        sql = "SELECT projection, generation, position, active FROM projection_checkpoints ORDER BY projection, generation"
        return [(r["projection"], r["generation"], r["position"], bool(r["active"])) for r in await self.db.fetch(sql)]

    async def load_projection_rows(self, name: str, generation: int, keys: list[str]) -> dict[str, Any]:
        found = {}
        for start in range(0, len(keys), _LOAD_CHUNK):
            chunk = keys[start : start + _LOAD_CHUNK]
            sql = (
                "SELECT key, doc FROM projection_rows WHERE projection = ? AND generation = ? "
                f"AND key IN ({', '.join('?' * len(chunk))})"
            )
            found.update({r["key"]: codec.loads(r["doc"]) for r in await self.db.fetch(sql, name, generation, *chunk)})
        return found

    async def save_projection(
        self, name: str, generation: int, rows: dict[str, Any], after: int, position: int, now: datetime
    ) -> bool:
        def save(conn: sqlite3.Connection) -> bool:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                moved = conn.execute(
                    "UPDATE projection_checkpoints SET position = ?, updated_at = ? "
                    "WHERE projection = ? AND generation = ? AND position = ?",
                    (position, time_text(now), name, generation, after),
                ).rowcount
                if moved != 1:
                    return False
                conn.executemany(
                    "INSERT INTO projection_rows (projection, generation, key, doc) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (projection, generation, key) DO UPDATE SET doc = excluded.doc",
                    [(name, generation, key, codec.dumps(doc)) for key, doc in rows.items()],
                )
            return True

        return await self.db.writer.run(save)

    async def projection_docs(self, name: str) -> list[Any]:
        sql = (
            "SELECT r.doc FROM projection_rows r JOIN projection_checkpoints c "
            "ON c.projection = r.projection AND c.generation = r.generation AND c.active WHERE r.projection = ?"
        )
        return [codec.loads(r["doc"]) for r in await self.db.fetch(sql, name)]

    async def activate_generation(self, name: str, generation: int) -> None:
        def activate(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE projection_checkpoints SET active = (generation = ?) WHERE projection = ?", (generation, name))
                conn.execute("DELETE FROM projection_rows WHERE projection = ? AND generation <> ?", (name, generation))
                conn.execute("DELETE FROM projection_checkpoints WHERE projection = ? AND generation <> ?", (name, generation))

        await self.db.writer.run(activate)

    async def rebuild_table(self, model: trigger_models.TriggerModel) -> int:
        """Make a trigger-kept read model again from the log (eventlog/trigger_models.py); its rows."""

        def rebuild(conn: sqlite3.Connection) -> int:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("CREATE TEMP TABLE replay AS SELECT * FROM events WHERE 0")
                try:
                    for statement in trigger_models.replay_triggers(model.sqlite, temp=True):
                        conn.execute(statement)
                    conn.execute(f"DELETE FROM {model.table}")
                    conn.execute(
                        "INSERT INTO replay SELECT * FROM events WHERE type IN (SELECT value FROM json_each(?)) "
                        "ORDER BY position", (codec.dumps(list(model.event_types)),),
                    )
                    return conn.execute(f"SELECT count(*) FROM {model.table}").fetchone()[0]
                finally:
                    conn.execute("DROP TABLE temp.replay")  # and its triggers

        return await self.db.writer.run(rebuild)

