"""Erasing a job's data on SQLite (eventlog/erasure.py): its events' data replaced, the digest and
leaf hash of their bytes as they were kept, its metadata index rows dropped; one transaction."""

import sqlite3
from collections.abc import Sequence
from uuid import UUID

from jobledger.eventlog.records import Redaction
from jobledger.eventlog.sqlite.connection import Database, rows


def _erase(conn: sqlite3.Connection, job_id: str, redactions: Sequence[Redaction]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO erased_events (position, stream_id, digest, leaf) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (position) DO NOTHING",
            [(r.position, job_id, r.digest, r.leaf) for r in redactions],
        )
        conn.executemany("UPDATE events SET data = ? WHERE position = ?", [(r.data, r.position) for r in redactions])
        conn.execute("DELETE FROM job_metadata WHERE job_id = ?", (job_id,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class SQLiteErasure:
    def __init__(self, db: Database):
        self.db = db

    async def erase(self, job_id: UUID, redactions: Sequence[Redaction]) -> None:
        await self.db.writer.run(_erase, job_id.hex, redactions)

    async def erased(self, first: int, last: int) -> dict[int, tuple[bytes, bytes]]:
        sql = "SELECT position, digest, leaf FROM erased_events WHERE position BETWEEN ? AND ?"
        return {r["position"]: (bytes(r["digest"]), bytes(r["leaf"])) for r in await self.db.reader.run(rows, sql, (first, last))}
