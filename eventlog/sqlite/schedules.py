"""Schedules on SQLite: the read model's reads, and fires that choose and append in one writer
transaction (the single writer serialises them: no two fires handle one time), through the log's
write_one, telling the log's listeners after the commit."""

import sqlite3
from datetime import datetime
from uuid import UUID

from jobledger.eventlog import codec
from jobledger.eventlog.records import AppendsRefused, DueSchedule, FirePlan, Outcome, RecordedEvent, ScheduleRow
from jobledger.eventlog.sqlite.connection import Database, rows, time_text
from jobledger.eventlog.sqlite.log import SQLiteLog, write_one

_COLUMNS = (
    "s.tenant, s.name, s.stream_id, s.status, s.config, s.paused_reason, s.next_fire_at, s.generation, "
    "s.last_job_id, s.last_fires, s.version, s.created_at, s.updated_at"
)
_DUE = (
    f"SELECT {_COLUMNS}, j.status AS last_job_status, j.doc AS last_job_doc "
    "FROM schedules s LEFT JOIN job_status j ON j.job_id = s.last_job_id "
    "WHERE s.status = 'active' AND s.next_fire_at <= ? ORDER BY s.next_fire_at LIMIT ?"
)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def schedule_row(r: sqlite3.Row) -> ScheduleRow:
    return ScheduleRow(
        tenant=r["tenant"], name=r["name"], stream_id=UUID(r["stream_id"]), status=r["status"],
        config=codec.loads(r["config"]), paused_reason=r["paused_reason"], next_fire_at=_time(r["next_fire_at"]),
        generation=r["generation"], last_job_id=None if r["last_job_id"] is None else UUID(r["last_job_id"]),
        last_fires=codec.loads(r["last_fires"]), version=r["version"], created_at=_time(r["created_at"]),
        updated_at=_time(r["updated_at"]),
    )


class SQLiteSchedules:
    def __init__(self, db: Database, log: SQLiteLog):
        self.db = db
        self.log = log  # fires append as its batches do, and its listeners hear of them

    async def get_schedule(self, tenant: str, name: str) -> ScheduleRow | None:
        found = await self.db.fetch(f"SELECT {_COLUMNS} FROM schedules s WHERE tenant = ? AND name = ?", tenant, name)
        return schedule_row(found[0]) if found else None

    async def list_schedules(self, tenant: str, after: str | None, limit: int) -> list[ScheduleRow]:
        sql = (
            f"SELECT {_COLUMNS} FROM schedules s WHERE tenant = ? AND status <> 'deleted' "
            "AND (? IS NULL OR name > ?) ORDER BY name LIMIT ?"
        )
        return [schedule_row(r) for r in await self.db.fetch(sql, tenant, after, after, limit)]

    async def count_schedules(self, tenant: str) -> int:
        sql = "SELECT count(*) AS n FROM schedules WHERE tenant = ? AND status <> 'deleted'"
        return (await self.db.fetch(sql, tenant))[0]["n"]

    async def next_fire_at(self) -> datetime | None:
        found = await self.db.fetch("SELECT min(next_fire_at) AS at FROM schedules WHERE status = 'active'")
        return _time(found[0]["at"])

    async def fire_due(self, now: datetime, limit: int, plan: FirePlan) -> list[list[RecordedEvent]]:
        """Fire the due schedules inside one writer transaction; nothing is written unless every
        append is accepted."""
        planned = []

        def kept(due: list[DueSchedule]):
            planned.extend(plan(due))
            return planned

        outcomes = await self.db.writer.run(_fire, now, limit, kept)
        if outcomes:
            self.log.committed(planned, outcomes)
        return outcomes


def _fire(conn: sqlite3.Connection, now: datetime, limit: int, plan: FirePlan) -> list[Outcome]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = rows(conn, _DUE, (time_text(now), limit))
        due = [DueSchedule(schedule_row(r), r["last_job_status"], r["last_job_doc"]) for r in found]
        outcomes = [write_one(conn, request) for request in plan(due)] if due else []
        if refused := [o for o in outcomes if isinstance(o, Exception)]:
            raise AppendsRefused(refused)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return outcomes
