"""The claim queue on SQLite: a claim chooses and appends in one writer transaction, through
the log's write_one, and tells the log's listeners after the commit."""

import sqlite3
from datetime import datetime
from uuid import UUID

from jobledger.eventlog import tables
from jobledger.eventlog.claims import candidate_scans, claim_allowance, in_claim_order, trim_to_allowance
from jobledger.eventlog.records import (
    AppendRequest,
    ClaimPlan,
    ClaimQuery,
    Outcome,
    QueueStats,
    RecordedEvent,
    StatusRow,
)
from jobledger.eventlog.sqlite.connection import Database, first, in_list, rows, time_text
from jobledger.eventlog.sqlite.log import SQLiteLog, write_one

_DUE_AT = tables.DUE_AT["sqlite"]  # as the queue indexes hold it, so that they are used
PRIORITIES_ONE_AT_A_TIME = 8  # as PostgreSQL's jobledger_claim_candidates (migration 0010)
_COLUMNS = f"type, job_id, version, last_position, doc, priority, {_DUE_AT} AS due_at, created_position"
_QUEUE_STATS = (
    "SELECT type, count(*) FILTER (WHERE status = 'queued') AS queued, "
    "count(*) FILTER (WHERE status = 'running') AS running, "
    "min(max(coalesce(run_at, updated_at), updated_at)) "
    "FILTER (WHERE status = 'queued' AND (run_at IS NULL OR run_at <= ?)) AS oldest_queued_at "
    "FROM job_status WHERE status IN ('queued', 'running') GROUP BY type ORDER BY type"
)


class SQLiteQueue:
    def __init__(self, db: Database, log: SQLiteLog):
        self.db = db
        self.log = log  # claims append as its batches do, and its listeners hear of them

    async def claim(self, query: ClaimQuery, plan: ClaimPlan) -> list[list[RecordedEvent]]:
        """Claim due queued jobs inside one writer transaction: no two claims get the same job."""
        planned: list[AppendRequest] = []

        def kept(rows: list[StatusRow]) -> list[AppendRequest]:
            planned.extend(plan(rows))
            return planned

        outcomes = await self.db.writer.run(_claim, query, kept)
        if outcomes:
            self.log.committed(planned, outcomes)
        return [o for o in outcomes if not isinstance(o, Exception)]

    async def due_for_lease_expiry(self, now: datetime, limit: int) -> list[UUID]:
        sql = (
            "SELECT job_id FROM job_status WHERE status = 'running' AND lease_expires_at <= ? "
            "ORDER BY lease_expires_at LIMIT ?"
        )
        return [UUID(r["job_id"]) for r in await self.db.fetch(sql, time_text(now), limit)]

    async def queue_stats(self, now: datetime) -> list[QueueStats]:
        return [
            QueueStats(
                type=r["type"], queued=r["queued"], running=r["running"],
                oldest_queued_at=datetime.fromisoformat(r["oldest_queued_at"]) if r["oldest_queued_at"] else None,
            )
            for r in await self.db.fetch(_QUEUE_STATS, time_text(now))
        ]


def _claim(conn: sqlite3.Connection, query: ClaimQuery, plan: ClaimPlan) -> list[Outcome]:
    conn.execute("BEGIN IMMEDIATE")  # the single writer: claims and appends are serialised
    try:
        allowance = claim_allowance(query, _running(conn, list(query.max_running), query.tenant))
        candidates = []
        for type_, leave_out, limit in candidate_scans(query, allowance):
            candidates += _candidates(conn, query.now, type_, leave_out, limit, query.tenant)
        chosen = [(r["type"], _status_row(r)) for r in in_claim_order(candidates, query.limit)]
        outcomes = [write_one(conn, request) for request in plan(trim_to_allowance(chosen, allowance))]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return outcomes


def _running(conn: sqlite3.Connection, limited: list[str], tenant: str | None) -> dict[str, int]:
    """Running jobs of each of the `limited` types, of `tenant` (None: of every tenant): a
    type's max_running is its tenant's."""
    if not limited:
        return {}
    of_tenant = "" if tenant is None else " AND tenant = ?"
    sql = (
        "SELECT type, count(*) AS running FROM job_status "
        f"WHERE status = 'running' AND {in_list('type', limited)}{of_tenant} GROUP BY type"
    )
    return {r["type"]: r["running"] for r in rows(conn, sql, [*limited, *([] if tenant is None else [tenant])])}


def _candidates(
    conn: sqlite3.Connection, now: datetime, type_: str | None, leave_out: list[str], limit: int, tenant: str | None
) -> list[sqlite3.Row]:
    """Up to `limit` due jobs of `type_` (or of any type but `leave_out`) in claim order, from the
    highest priority down: the first PRIORITIES_ONE_AT_A_TIME priorities one at a time, each
    from its first due job to its last, skipping the jobs not due; below them, in one scan
    that steps over the jobs not due (with many priorities, a descent each would cost more)."""
    # named, so that SQLite reads them off a queue index (without statistics it might sort)
    if type_ is not None:
        index, which, of = "job_status_queue", "type = ?", [type_]
    else:
        index, which, of = "job_status_queue_any", in_list("type", leave_out, negate=True), list(leave_out)
    queued = f"FROM job_status INDEXED BY {index} WHERE status = 'queued' AND {which}"
    due = f"{_DUE_AT} <= ? AND expires_at > ?{'' if tenant is None else ' AND tenant = ?'}"
    below = f"SELECT priority {queued} AND priority < ? ORDER BY priority DESC LIMIT 1"
    at_priority = f"SELECT {_COLUMNS} {queued} AND priority = ? AND {due} ORDER BY {_DUE_AT}, created_position LIMIT ?"
    all_below = (
        f"SELECT {_COLUMNS} {queued} AND priority < ? AND {due} ORDER BY priority DESC, {_DUE_AT}, created_position LIMIT ?"
    )
    due_args = [time_text(now), time_text(now)] + ([] if tenant is None else [tenant])
    found: list[sqlite3.Row] = []
    priority = 2**31  # priorities are 32-bit: above the highest there is
    for _ in range(PRIORITIES_ONE_AT_A_TIME):
        next_below = first(conn, below, (*of, priority))
        if next_below is None:
            return found
        priority = next_below["priority"]
        found += rows(conn, at_priority, (*of, priority, *due_args, limit - len(found)))
        if len(found) == limit:
            return found
    return found + rows(conn, all_below, (*of, priority, *due_args, limit - len(found)))


def _status_row(r: sqlite3.Row) -> StatusRow:
    return StatusRow(job_id=UUID(r["job_id"]), version=r["version"], last_position=r["last_position"], doc=r["doc"])
