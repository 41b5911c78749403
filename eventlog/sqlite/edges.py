"""Jobs and their parents on SQLite (job_edges, written by the log's trigger: eventlog/edge_rows.py)."""

import sqlite3
from collections.abc import Sequence
from uuid import UUID

from jobledger.eventlog import edge_rows
from jobledger.eventlog.records import StatusRow
from jobledger.eventlog.sqlite.connection import Database, in_list
from jobledger.eventlog.sqlite.status import USER


def _rebuild(conn: sqlite3.Connection) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in edge_rows.REBUILD["sqlite"]:
            conn.execute(statement)
        count = conn.execute("SELECT count(*) FROM job_edges").fetchone()[0]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return count


class SQLiteGraph:
    def __init__(self, db: Database):
        self.db = db

    async def children(self, parent: UUID) -> list[tuple[UUID, str]]:
        sql = "SELECT child, on_failure FROM job_edges WHERE parent = ? ORDER BY child"
        rows = await self.db.fetch(sql, parent.hex)
        return [(UUID(r["child"]), r["on_failure"]) for r in rows]

    async def waiting_children(self, parent: UUID) -> list[StatusRow]:
        sql = (
            f"SELECT s.job_id, s.version, s.last_position, s.doc, s.tenant, s.type, {USER} AS user FROM job_edges e "
            "JOIN job_status s ON s.job_id = e.child WHERE e.parent = ? AND s.status = 'waiting'"
        )
        return [
            StatusRow(UUID(r["job_id"]), r["version"], r["last_position"], r["doc"], r["tenant"], r["type"], r["user"])
            for r in await self.db.fetch(sql, parent.hex)
        ]

    async def rows(self, job_ids: Sequence[UUID]) -> list[StatusRow]:
        if not job_ids:
            return []
        sql = (
            f"SELECT job_id, version, last_position, doc, tenant, type, {USER} AS user FROM job_status s "
            f"WHERE {in_list('job_id', job_ids)}"
        )
        return [
            StatusRow(UUID(r["job_id"]), r["version"], r["last_position"], r["doc"], r["tenant"], r["type"], r["user"])
            for r in await self.db.fetch(sql, *(j.hex for j in job_ids))
        ]

    async def rebuild_edges(self) -> int:
        return await self.db.writer.run(_rebuild)
