"""Jobs and their parents on PostgreSQL (job_edges, written by the log's trigger: eventlog/edge_rows.py)."""

from collections.abc import Sequence
from uuid import UUID

from jobledger.eventlog import edge_rows
from jobledger.eventlog.postgres.connection import Database
from jobledger.eventlog.postgres.status import USER
from jobledger.eventlog.records import StatusRow


class PostgresGraph:
    def __init__(self, db: Database):
        self.db = db

    async def children(self, parent: UUID) -> list[tuple[UUID, str]]:
        rows = await self.db.fetch("SELECT child, on_failure FROM job_edges WHERE parent = $1 ORDER BY child", parent)
        return [(r["child"], r["on_failure"]) for r in rows]

    async def waiting_children(self, parent: UUID) -> list[StatusRow]:
        sql = (
            f"SELECT s.job_id, s.version, s.last_position, s.doc::text AS doc, s.tenant, s.type, {USER} AS user "
            "FROM job_edges e JOIN job_status s ON s.job_id = e.child WHERE e.parent = $1 AND s.status = 'waiting'"
        )
        return [
            StatusRow(r["job_id"], r["version"], r["last_position"], r["doc"], r["tenant"], r["type"], r["user"])
            for r in await self.db.fetch(sql, parent)
        ]

    async def rows(self, job_ids: Sequence[UUID]) -> list[StatusRow]:
        if not job_ids:
            return []
        sql = (
            f"SELECT job_id, version, last_position, doc::text AS doc, tenant, type, {USER} AS user FROM job_status s "
            "WHERE job_id = ANY($1::uuid[])"
        )
        return [
            StatusRow(r["job_id"], r["version"], r["last_position"], r["doc"], r["tenant"], r["type"], r["user"])
            for r in await self.db.fetch(sql, list(job_ids))
        ]

    async def rebuild_edges(self) -> int:
        async with self.db.connection() as conn, conn.transaction():
            for statement in edge_rows.REBUILD["postgresql"]:
                await conn.execute(statement)
            return await conn.fetchval("SELECT count(*) FROM job_edges")
