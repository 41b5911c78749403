"""Storage of asynchronous projections on PostgreSQL.

A projection's rows and its checkpoint are written in one transaction, and the write
only happens if the checkpoint is still where the batch started: a crash never applies
an event twice or skips one, and two runners never both apply a batch.
"""

from datetime import datetime
from typing import Any

from jobledger.eventlog import codec, trigger_models
from jobledger.eventlog.postgres.connection import Database


# One primary-key lookup per key, whatever the statistics say: a generation that nothing
# has analysed (autovacuum may be off, and every save rewrites its rows) looks like a few
# rows, and as a join the planner hashed the whole generation to find a few hundred keys.
# OFFSET 0 keeps the subquery from being pulled up into such a join: it runs once per key,
# on the key's index entry.
LOAD_ROWS = (
    "SELECT k.key, r.doc::text AS doc FROM unnest($3::text[]) AS k(key) CROSS JOIN LATERAL "
    "(SELECT doc FROM projection_rows WHERE projection = $1 AND generation = $2 AND key = k.key OFFSET 0) r"
)


class PostgresProjections:
    def __init__(self, db: Database):
        self.db = db

    async def ensure_projection(self, name: str, now: datetime) -> None:
        """Give `name` its first, active generation unless it has one."""
        sql = (
            "INSERT INTO projection_checkpoints (projection, generation, position, active, updated_at) "
            "SELECT $1, 1, 0, true, $2 WHERE NOT EXISTS (SELECT 1 FROM projection_checkpoints WHERE projection = $1) "
            "ON CONFLICT DO NOTHING"
        )
        await self.db.fetch(sql, name, now)

    async def start_generation(self, name: str, active: bool, now: datetime) -> int:
        """A new, empty generation of `name` at position 0 (the active one if `active`)."""
        sql = (
            "INSERT INTO projection_checkpoints (projection, generation, position, active, updated_at) "
            "SELECT $1, coalesce(max(generation), 0) + 1, 0, $2, $3 FROM projection_checkpoints WHERE projection = $1 "
            "RETURNING generation"
        )
        return (await self.db.fetch(sql, name, active, now))[0]["generation"]

    async def projection_checkpoints(self) -> list[tuple[str, int, int, bool]]:
        """(projection, generation, position, active) of every generation."""
        sql = "SELECT projection, generation, position, active FROM projection_checkpoints ORDER BY projection, generation"
        return [(r["projection"], r["generation"], r["position"], r["active"]) for r in await self.db.fetch(sql)]

    async def load_projection_rows(self, name: str, generation: int, keys: list[str]) -> dict[str, Any]:
        return {r["key"]: codec.loads(r["doc"]) for r in await self.db.fetch(LOAD_ROWS, name, generation, keys)}

    async def save_projection(
        self, name: str, generation: int, rows: dict[str, Any], after: int, position: int, now: datetime
    ) -> bool:
        """Write rows and move the checkpoint from `after` to `position`, atomically; False if it had moved.

        One statement, so one short transaction: while it runs, it holds back the events
        that commit after it began from every follower of the log (eventlog/postgres/log.py)."""
        sql = (
            "WITH moved AS (UPDATE projection_checkpoints SET position = $4, updated_at = $5 "
            "WHERE projection = $1 AND generation = $2 AND position = $3 RETURNING 1), "
            "written AS (INSERT INTO projection_rows (projection, generation, key, doc) "
            "SELECT $1, $2, r.key, r.doc FROM unnest($6::text[], $7::json[]) AS r(key, doc) "
            "WHERE EXISTS (SELECT 1 FROM moved) "
            "ON CONFLICT (projection, generation, key) DO UPDATE SET doc = EXCLUDED.doc RETURNING 1) "
            "SELECT (SELECT count(*) FROM moved) AS moved, (SELECT count(*) FROM written) AS written"
        )
        keys, docs = list(rows), [codec.dumps(doc) for doc in rows.values()]
        row = (await self.db.fetch(sql, name, generation, after, position, now, keys, docs))[0]
        return row["moved"] == 1

    async def projection_docs(self, name: str) -> list[Any]:
        """Every row of the active generation of `name`."""
        sql = (
            "SELECT r.doc::text AS doc FROM projection_rows r JOIN projection_checkpoints c "
            "ON c.projection = r.projection AND c.generation = r.generation AND c.active WHERE r.projection = $1"
        )
        return [codec.loads(r["doc"]) for r in await self.db.fetch(sql, name)]

    async def activate_generation(self, name: str, generation: int) -> None:
        """Make `generation` the one reads see, and drop the others, in one transaction."""
        async with self.db.connection() as conn, conn.transaction():
            await conn.execute(
                "UPDATE projection_checkpoints SET active = (generation = $2) WHERE projection = $1", name, generation
            )
            await conn.execute("DELETE FROM projection_rows WHERE projection = $1 AND generation <> $2", name, generation)
            await conn.execute(
                "DELETE FROM projection_checkpoints WHERE projection = $1 AND generation <> $2", name, generation
            )

    async def rebuild_table(self, model: trigger_models.TriggerModel) -> int:
        """Make a trigger-kept read model again from the log (eventlog/trigger_models.py); its rows."""
        async with self.db.connection() as conn, conn.transaction():
            await conn.execute(f"LOCK TABLE {model.table} IN EXCLUSIVE MODE")  # after it: every event that wrote to it is committed
            await conn.execute("CREATE TEMP TABLE replay (LIKE events) ON COMMIT DROP")
            for statement in trigger_models.replay_triggers(model.postgres, temp=False):
                await conn.execute(statement)
            await conn.execute(f"DELETE FROM {model.table}")
            await conn.execute(
                "INSERT INTO replay SELECT * FROM events WHERE type = ANY($1::text[]) ORDER BY position", list(model.event_types)
            )
            return await conn.fetchval(f"SELECT count(*) FROM {model.table}")

