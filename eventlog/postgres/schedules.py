"""Schedules on PostgreSQL: the read model's reads, and fires that choose and append in one
transaction, through the log's batch writer (appends.py).

Several instances fire at once without firing one time twice, and without waiting on each other:
a fire takes each due schedule's stream lock (the per-stream lock jobledger_append takes, migration
0009) with a try, and leaves the schedules another fire holds. Holding the lock, it reads the rows
again (any append to the stream has committed, and none can start): their versions are the
streams' heads, so its appends meet no conflict. For the overlap policy cancel_previous it also
takes the previous job's lock with a try, so it never waits on a lock while holding one (no
deadlock with an append that holds the job's and wants the schedule's).
"""

import asyncio
from datetime import datetime

import asyncpg

from jobledger.eventlog import codec
from jobledger.eventlog.postgres.appends import Appends, outcomes
from jobledger.eventlog.postgres.connection import Database
from jobledger.eventlog.records import AppendsRefused, DueSchedule, FirePlan, RecordedEvent, ScheduleRow

STREAM_LOCK = 1785684589  # jobledger_append's per-stream lock class (migration 0009)
# Candidates looked at per schedule fired: the earliest due are often another fire's, and the
# locks are tried in order until `limit` are held (the rest are not tried).
OVERSAMPLE = 4
_COLUMNS = (
    "s.tenant, s.name, s.stream_id, s.status, s.config::text AS config, s.paused_reason, s.next_fire_at, "
    "s.generation, s.last_job_id, s.last_fires::text AS last_fires, s.version, s.created_at, s.updated_at"
)
_HELD = f"""
    WITH due AS (
        SELECT stream_id, last_job_id, config::jsonb ->> 'overlap' AS overlap FROM schedules
        WHERE status = 'active' AND next_fire_at <= $1 ORDER BY next_fire_at LIMIT $2 * {OVERSAMPLE}
    )
    SELECT stream_id FROM due
    WHERE pg_try_advisory_xact_lock({STREAM_LOCK}, uuid_hash(stream_id))
      AND (last_job_id IS NULL OR overlap IS DISTINCT FROM 'cancel_previous'
           OR pg_try_advisory_xact_lock({STREAM_LOCK}, uuid_hash(last_job_id)))
    LIMIT $2
"""
_DUE = f"""
    SELECT {_COLUMNS}, j.status AS last_job_status, j.doc::text AS last_job_doc
    FROM schedules s LEFT JOIN job_status j ON j.job_id = s.last_job_id
    WHERE s.stream_id = ANY($1) AND s.status = 'active' AND s.next_fire_at <= $2
    ORDER BY s.next_fire_at
"""


def schedule_row(r: asyncpg.Record) -> ScheduleRow:
    return ScheduleRow(
        tenant=r["tenant"], name=r["name"], stream_id=r["stream_id"], status=r["status"],
        config=codec.loads(r["config"]), paused_reason=r["paused_reason"], next_fire_at=r["next_fire_at"],
        generation=r["generation"], last_job_id=r["last_job_id"], last_fires=codec.loads(r["last_fires"]),
        version=r["version"], created_at=r["created_at"], updated_at=r["updated_at"],
    )


class PostgresSchedules:
    def __init__(self, db: Database, appends: Appends):
        self.db = db
        self.appends = appends

    async def get_schedule(self, tenant: str, name: str) -> ScheduleRow | None:
        rows = await self.db.fetch(f"SELECT {_COLUMNS} FROM schedules s WHERE tenant = $1 AND name = $2", tenant, name)
        return schedule_row(rows[0]) if rows else None

    async def list_schedules(self, tenant: str, after: str | None, limit: int) -> list[ScheduleRow]:
        sql = (
            f"SELECT {_COLUMNS} FROM schedules s WHERE tenant = $1 AND status <> 'deleted' "
            "AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3"
        )
        return [schedule_row(r) for r in await self.db.fetch(sql, tenant, after, limit)]

    async def count_schedules(self, tenant: str) -> int:
        sql = "SELECT count(*) AS n FROM schedules WHERE tenant = $1 AND status <> 'deleted'"
        return (await self.db.fetch(sql, tenant))[0]["n"]

    async def next_fire_at(self) -> datetime | None:
        rows = await self.db.fetch("SELECT min(next_fire_at) AS at FROM schedules WHERE status = 'active'")
        return rows[0]["at"]

    async def fire_due(self, now: datetime, limit: int, plan: FirePlan) -> list[list[RecordedEvent]]:
        """Fire the due schedules no other fire holds (see the module's note); nothing is written
        unless every append is accepted."""
        async with self.db.connection() as conn, conn.transaction():
            held = [r["stream_id"] for r in await conn.fetch(_HELD, now, limit)]
            if not held:
                return []
            due = [
                DueSchedule(schedule_row(r), r["last_job_status"], r["last_job_doc"])
                for r in await conn.fetch(_DUE, held, now)
            ]
            requests = await asyncio.to_thread(plan, due)  # pure work, off the event loop
            if not requests:
                return []
            results = outcomes(requests, await self.appends.send(conn, requests))
            if refused := [o for o in results if isinstance(o, Exception)]:
                raise AppendsRefused(refused)  # and the transaction rolls back what the others wrote
        return self.appends.after_commit(requests, results)
