"""The claim queue on PostgreSQL: claims choose and append in one transaction, through the
log's batch writer (appends.py)."""

from datetime import datetime
from uuid import UUID

import asyncpg

from jobledger.eventlog.claims import candidate_scans, claim_allowance, in_claim_order, trim_to_allowance
from jobledger.eventlog.postgres.appends import Appends, outcomes
from jobledger.eventlog.postgres.connection import Database, call
from jobledger.eventlog.records import ClaimPlan, ClaimQuery, QueueStats, RecordedEvent, StatusRow

CLAIM_LOCK = 0x6A6F626F  # serialises claims: per-type running counts are exact, no job is claimed twice (0010's
# jobledger_claim_candidates takes it by its number, 1785684591)
# A claim's candidates, all its scans in one call (migration 0010): under the claim lock, each
# priority's due jobs off a queue index in claim order, from the highest priority down.
CANDIDATES = call("jobledger_claim_candidates", ("p_now", "p_types", "p_limits", "p_leave_out", "p_tenant"))
_CLAIM_LOCK = "SELECT pg_advisory_xact_lock($1)"
# a type's max_running is its tenant's: only that tenant's running jobs count (all tenants' for a claim of any)
_RUNNING = (
    "SELECT type, count(*) AS running FROM job_status WHERE status = 'running' AND type = ANY($1) "
    "AND ($2::text IS NULL OR tenant = $2) GROUP BY type"
)
_QUEUE_STATS = (
    "SELECT type, count(*) FILTER (WHERE status = 'queued') AS queued, "
    "count(*) FILTER (WHERE status = 'running') AS running, "
    "min(greatest(run_at, updated_at)) FILTER (WHERE status = 'queued' AND (run_at IS NULL OR run_at <= $1)) "
    "AS oldest_queued_at FROM job_status WHERE status IN ('queued', 'running') GROUP BY type ORDER BY type"
)


class PostgresQueue:
    def __init__(self, db: Database, appends: Appends):
        self.db = db
        self.appends = appends

    async def claim(self, query: ClaimQuery, plan: ClaimPlan) -> list[list[RecordedEvent]]:
        """Claim due queued jobs under the claim lock: claims are serialised, so no two get
        the same job and per-type running counts are exact. A candidate changed by an append
        meanwhile fails its version check (the append locks the job) and is left out."""
        async with self.db.connection() as conn, conn.transaction():
            running = {}
            if query.max_running:  # counted under the lock (the candidates' call takes it again)
                await conn.execute(_CLAIM_LOCK, CLAIM_LOCK)
                counted = await conn.fetch(_RUNNING, list(query.max_running), query.tenant)
                running = {r["type"]: r["running"] for r in counted}
            allowance = claim_allowance(query, running)
            rows = in_claim_order(await _candidates(conn, query, candidate_scans(query, allowance)), query.limit)
            requests = plan(trim_to_allowance([(r["type"], _status_row(r)) for r in rows], allowance))
            if not requests:
                return []
            row = await self.appends.send(conn, requests)
        claimed = self.appends.after_commit(requests, outcomes(requests, row))
        return [o for o in claimed if not isinstance(o, Exception)]

    async def due_for_lease_expiry(self, now: datetime, limit: int) -> list[UUID]:
        sql = (
            "SELECT job_id FROM job_status WHERE status = 'running' AND lease_expires_at <= $1 "
            "ORDER BY lease_expires_at LIMIT $2"
        )
        return [r["job_id"] for r in await self.db.fetch(sql, now, limit)]

    async def queue_stats(self, now: datetime) -> list[QueueStats]:
        return [
            QueueStats(type=r["type"], queued=r["queued"], running=r["running"], oldest_queued_at=r["oldest_queued_at"])
            for r in await self.db.fetch(_QUEUE_STATS, now)
        ]


async def _candidates(conn: asyncpg.Connection, query: ClaimQuery, scans: list) -> list[asyncpg.Record]:
    """Every scan's candidates, in one call of jobledger_claim_candidates."""
    named = {
        "p_now": query.now,
        "p_types": [type_ for type_, _, _ in scans],
        "p_limits": [limit for _, _, limit in scans],
        "p_leave_out": next((left for type_, left, _ in scans if type_ is None), []),
        "p_tenant": query.tenant,
    }
    return await conn.fetch(CANDIDATES.sql, *CANDIDATES.args(named))


def _status_row(r: asyncpg.Record) -> StatusRow:
    return StatusRow(job_id=r["job_id"], version=r["version"], last_position=r["last_position"], doc=r["doc"])
