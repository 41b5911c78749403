"""Webhook endpoints, their secrets, deliveries and attempts on PostgreSQL.

Each instance's sender claims due deliveries with FOR UPDATE SKIP LOCKED and a lease
(`leased_until`), in one short statement: two instances never send one delivery at once, and a
delivery whose sender died is claimed again when its lease runs out (at least once).
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

import asyncpg

from jobledger.eventlog.protocols import Redact
from jobledger.eventlog.webhook_rows import handed_over, redacted, webhook_row
from jobledger.eventlog.postgres.connection import Database
from jobledger.eventlog.records import Attempt, Delivery, WebhookRow

_WEBHOOK = (
    "webhook_id, tenant, url, event_types::text AS event_types, job_types::text AS job_types, description, status, "
    "disabled_reason, secret_id, previous_secret_id, previous_expires_at, created_position, created_at, updated_at, version"
)
_DELIVERY = (
    "delivery_id, webhook_id, job_id, position, event_type, body, state, attempts, schedule_from, next_attempt_at, created_at, "
    "delivered_at"
)
# The first pending delivery of each (endpoint, job): a later one waits, so each job's events
# reach an endpoint in log order, whichever instance sends them.
_CLAIM = f"""
UPDATE webhook_deliveries SET leased_until = $2 WHERE delivery_id IN (
    SELECT d.delivery_id FROM webhook_deliveries d JOIN webhooks w ON w.webhook_id = d.webhook_id
    WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.leased_until IS NULL OR d.leased_until < $1)
      AND w.status = 'active' AND NOT (d.webhook_id = ANY($4::text[]))
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.job_id = d.job_id
          AND e.position < d.position AND e.state = 'pending')
    ORDER BY d.next_attempt_at, d.position LIMIT $3
    FOR UPDATE OF d SKIP LOCKED
) RETURNING {_DELIVERY}"""


_ENQUEUE = f"""
WITH moved AS (
    INSERT INTO webhook_checkpoint (name, position) VALUES ('dispatch', $2) ON CONFLICT (name) DO UPDATE
    SET position = $2 WHERE webhook_checkpoint.position = $1 RETURNING 1
), written AS (
    INSERT INTO webhook_deliveries ({_DELIVERY}, leased_until)
    SELECT d.id, d.webhook, d.job, d.position, d.type, d.body, 'pending', 0, 0, $3, $3, NULL, d.lease
    FROM unnest($4::text[], $5::text[], $6::uuid[], $7::bigint[], $8::text[], $9::text[], $10::timestamptz[])
        AS d(id, webhook, job, position, type, body, lease)
    WHERE EXISTS (SELECT 1 FROM moved)
    ON CONFLICT DO NOTHING RETURNING 1
) SELECT (SELECT count(*) FROM moved) AS moved, (SELECT count(*) FROM written) AS written"""
_RECORD = """
WITH attempts AS (
    INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms)
    SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::int[], $5::text[], $6::float8[])
    ON CONFLICT DO NOTHING RETURNING 1
) UPDATE webhook_deliveries d SET state = u.state, attempts = u.attempt, next_attempt_at = u.due, leased_until = NULL,
    delivered_at = CASE WHEN u.state = 'delivered' THEN u.at ELSE d.delivered_at END
FROM unnest($1::text[], $2::int[], $3::timestamptz[], $7::text[], $8::timestamptz[]) AS u(id, attempt, at, state, due)
WHERE d.delivery_id = u.id"""
# A job's deliveries: queued (shared) and rewritten by an erasure (exclusive) never overlap; see enqueue.
# The locks are of 256 buckets of jobs, not of each job: a batch of 2,000 jobs' events takes at
# most 256 of the server's shared lock table (64 x max_connections by default), and an erasure
# waits at worst for an enqueue of other jobs of its bucket. An enqueue takes its buckets in
# ascending order: two enqueues, each queued behind an erasure's lock the other holds a share of,
# would otherwise wait for each other.
_JOB_LOCK_CLASS = 0x77686B73  # "whks": the first key of the two-key advisory locks, apart from other locks
_SHARE_JOBS = (
    f"SELECT pg_advisory_xact_lock_shared({_JOB_LOCK_CLASS}, b) "
    "FROM (SELECT DISTINCT uuid_hash(j) & 255 AS b FROM unnest($1::uuid[]) AS j ORDER BY b) AS buckets"
)
_LOCK_JOB = f"SELECT pg_advisory_xact_lock({_JOB_LOCK_CLASS}, uuid_hash($1::uuid) & 255)"
_ERASED = "SELECT job_id FROM job_status WHERE job_id = ANY($1::uuid[]) AND doc->>'erased_at' IS NOT NULL"
_PENDING = (
    "SELECT DISTINCT webhook_id, job_id FROM webhook_deliveries WHERE state = 'pending' "
    "AND (webhook_id, job_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))"
)


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(**dict(row))


def _attempt(row: asyncpg.Record) -> Attempt:
    return Attempt(**dict(row))


class PostgresWebhooks:
    def __init__(self, db: Database):
        self.db = db

    async def get_webhook(self, webhook_id: str) -> WebhookRow | None:
        rows = await self.db.fetch(f"SELECT {_WEBHOOK} FROM webhooks WHERE webhook_id = $1", webhook_id)
        return webhook_row(rows[0]) if rows else None

    async def list_webhooks(self, tenant: str | None) -> list[WebhookRow]:
        if tenant is None:
            sql = f"SELECT {_WEBHOOK} FROM webhooks ORDER BY created_position"
            return [webhook_row(r) for r in await self.db.fetch(sql)]
        sql = f"SELECT {_WEBHOOK} FROM webhooks WHERE tenant = $1 AND status <> 'deleted' ORDER BY created_position"
        return [webhook_row(r) for r in await self.db.fetch(sql, tenant)]

    async def count_webhooks(self, tenant: str) -> int:
        sql = "SELECT count(*) AS n FROM webhooks WHERE tenant = $1 AND status <> 'deleted'"
        return (await self.db.fetch(sql, tenant))[0]["n"]

    async def put_secret(self, webhook_id: str, secret_id: str, secret: str, now: datetime) -> None:
        sql = "INSERT INTO webhook_secrets (webhook_id, secret_id, secret, created_at) VALUES ($1, $2, $3, $4)"
        await self.db.fetch(sql, webhook_id, secret_id, secret, now)

    async def secrets(self, webhook_id: str, secret_ids: Sequence[str]) -> dict[str, str]:
        sql = "SELECT secret_id, secret FROM webhook_secrets WHERE webhook_id = $1 AND secret_id = ANY($2::text[])"
        return {r["secret_id"]: r["secret"] for r in await self.db.fetch(sql, webhook_id, list(secret_ids))}

    async def drop_secrets(self, webhook_id: str) -> None:
        await self.db.fetch("DELETE FROM webhook_secrets WHERE webhook_id = $1", webhook_id)

    async def dispatched(self) -> int:
        rows = await self.db.fetch("SELECT position FROM webhook_checkpoint WHERE name = 'dispatch'")
        return rows[0]["position"] if rows else 0

    async def enqueue(
        self, after: int, position: int, deliveries: Sequence[Delivery], now: datetime, lease_until: datetime,
        room: dict[str, int], redact: Redact,
    ) -> list[Delivery] | None:
        """With no deliveries, the checkpoint's move alone. Else one short transaction: the jobs'
        locks (shared: dispatchers do not wait on each other, redact_bodies waits, and waits for),
        the erased jobs among them and the pending (endpoint, job) pairs (only this dispatcher,
        holding the checkpoint, adds deliveries, and a pending one only ever stops being so), then
        the checkpoint's move and the inserts in one statement."""
        if not deliveries:
            row = (await self.db.fetch(_ENQUEUE, after, position, now, *[[]] * 7))[0]
            return None if not row["moved"] else []
        jobs = sorted({d.job_id for d in deliveries})
        pairs = list({(d.webhook_id, d.job_id) for d in deliveries})
        async with self.db.connection() as conn, conn.transaction():
            await conn.execute(_SHARE_JOBS, jobs)
            erased = {r["job_id"] for r in await conn.fetch(_ERASED, jobs)}
            rows = await conn.fetch(_PENDING, [w for w, _ in pairs], [j for _, j in pairs])
            deliveries = [redacted(d, redact) if d.job_id in erased else d for d in deliveries]
            taken = handed_over(deliveries, {(r["webhook_id"], r["job_id"]) for r in rows}, room)
            columns = list(zip(*[
                (d.delivery_id, d.webhook_id, d.job_id, d.position, d.event_type, d.body,
                 lease_until if d.delivery_id in taken else None) for d in deliveries
            ]))
            row = (await conn.fetch(_ENQUEUE, after, position, now, *map(list, columns)))[0]
            if not row["moved"]:
                return None  # the transaction's end lets the locks go; nothing was written
        return [replace(d, next_attempt_at=now, created_at=now) for d in deliveries if d.delivery_id in taken]

    async def claim_deliveries(self, now: datetime, lease_until: datetime, limit: int, busy: Sequence[str]) -> list[Delivery]:
        return [_delivery(r) for r in await self.db.fetch(_CLAIM, now, lease_until, limit, list(busy))]

    async def record_attempts(self, results: Sequence[tuple[Attempt, str, datetime]]) -> None:
        """One statement: the attempts, and each delivery's state after its attempt."""
        a = [r[0] for r in results]
        await self.db.fetch(
            _RECORD, [x.delivery_id for x in a], [x.attempt for x in a], [x.attempted_at for x in a],
            [x.status_code for x in a], [x.error for x in a], [x.duration_ms for x in a],
            [state for _, state, _ in results], [due for _, _, due in results],
        )

    async def list_deliveries(self, webhook_id: str, limit: int) -> list[tuple[Delivery, list[Attempt]]]:
        sql = f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY position DESC LIMIT $2"
        deliveries = [_delivery(r) for r in await self.db.fetch(sql, webhook_id, limit)]
        sql = "SELECT * FROM webhook_attempts WHERE delivery_id = ANY($1::text[]) ORDER BY delivery_id, attempt"
        attempts: dict[str, list[Attempt]] = {}
        for row in await self.db.fetch(sql, [d.delivery_id for d in deliveries]):
            attempts.setdefault(row["delivery_id"], []).append(_attempt(row))
        return [(d, attempts.get(d.delivery_id, [])) for d in deliveries]

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        rows = await self.db.fetch(f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE delivery_id = $1", delivery_id)
        return _delivery(rows[0]) if rows else None

    async def resend(self, delivery_id: str, now: datetime) -> None:
        sql = (
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $2, schedule_from = attempts "
            "WHERE delivery_id = $1"
        )
        await self.db.fetch(sql, delivery_id, now)

    async def job_types(self, job_ids: Sequence[UUID]) -> dict[UUID, str]:
        sql = "SELECT job_id, type FROM job_status WHERE job_id = ANY($1::uuid[])"
        return {r["job_id"]: r["type"] for r in await self.db.fetch(sql, list(job_ids))}

    async def redact_bodies(self, job_id: UUID, redact: Redact) -> int:
        async with self.db.connection() as conn, conn.transaction():
            await conn.execute(_LOCK_JOB, job_id)
            rows = await conn.fetch("SELECT delivery_id, event_type, body FROM webhook_deliveries WHERE job_id = $1", job_id)
            bodies = {r["delivery_id"]: body for r in rows if (body := redact(r["event_type"], r["body"])) is not None}
            if bodies:
                sql = (
                    "UPDATE webhook_deliveries SET body = b.body FROM unnest($1::text[], $2::text[]) AS b(id, body) "
                    "WHERE delivery_id = b.id"
                )
                await conn.execute(sql, list(bodies), list(bodies.values()))
        return len(bodies)
