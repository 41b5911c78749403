"""Erasing a job's data on PostgreSQL (eventlog/erasure.py): its events' data replaced, the digest
and leaf hash of their bytes as they were kept, its metadata index rows dropped; one transaction."""

from collections.abc import Sequence
from uuid import UUID

from jobledger.eventlog.postgres.connection import Database
from jobledger.eventlog.records import Redaction


class PostgresErasure:
    def __init__(self, db: Database):
        self.db = db

    async def erase(self, job_id: UUID, redactions: Sequence[Redaction]) -> None:
        async with self.db.connection() as conn, conn.transaction():  # losing the database: StoreUnavailable
            await conn.executemany(
                "INSERT INTO erased_events (position, stream_id, digest, leaf) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (position) DO NOTHING",
                [(r.position, job_id, r.digest, r.leaf) for r in redactions],
            )
            await conn.executemany(
                "UPDATE events SET data = $2::text::json WHERE position = $1", [(r.position, r.data) for r in redactions]
            )
            await conn.execute("DELETE FROM job_metadata WHERE job_id = $1", job_id)

    async def erased(self, first: int, last: int) -> dict[int, tuple[bytes, bytes]]:
        sql = "SELECT position, digest, leaf FROM erased_events WHERE position BETWEEN $1 AND $2"
        return {r["position"]: (bytes(r["digest"]), bytes(r["leaf"])) for r in await self.db.fetch(sql, first, last)}
