"""Webhook endpoints, their secrets, deliveries and attempts on SQLite.

Every write runs on the single writer, so a claim (one UPDATE ... RETURNING) never hands a
delivery to two senders; times are ISO 8601 text in UTC, which compare in order.
"""

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from jobledger.eventlog import codec
from jobledger.eventlog.records import Attempt, Delivery, WebhookRow
from jobledger.eventlog.sqlite.connection import Database, first, time_text
from jobledger.eventlog.protocols import Redact
from jobledger.eventlog.webhook_rows import handed_over, redacted, webhook_row

_WEBHOOK = (
    "webhook_id, tenant, url, event_types, job_types, description, status, disabled_reason, secret_id, "
    "previous_secret_id, previous_expires_at, created_position, created_at, updated_at, version"
)
_DELIVERY = (
    "delivery_id, webhook_id, job_id, position, event_type, body, state, attempts, schedule_from, next_attempt_at, created_at, "
    "delivered_at"
)
_CLAIM = """
UPDATE webhook_deliveries SET leased_until = ? WHERE delivery_id IN (
    SELECT d.delivery_id FROM webhook_deliveries d JOIN webhooks w ON w.webhook_id = d.webhook_id
    WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.leased_until IS NULL OR d.leased_until < ?)
      AND w.status = 'active' AND d.webhook_id NOT IN (SELECT value FROM json_each(?))
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.job_id = d.job_id
          AND e.position < d.position AND e.state = 'pending')
    ORDER BY d.next_attempt_at, d.position LIMIT ?
) RETURNING """ + _DELIVERY


def _webhook(row: sqlite3.Row) -> WebhookRow:
    values = dict(row)
    for name in ("created_at", "updated_at"):
        values[name] = datetime.fromisoformat(values[name])
    return webhook_row(values)


def _delivery(row: sqlite3.Row) -> Delivery:
    values = dict(row)
    values["job_id"] = UUID(values["job_id"])
    for name in ("next_attempt_at", "created_at", "delivered_at"):
        values[name] = datetime.fromisoformat(values[name]) if values[name] else None
    return Delivery(**values)


def _attempt(row: sqlite3.Row) -> Attempt:
    values = dict(row)
    values["attempted_at"] = datetime.fromisoformat(values["attempted_at"])
    return Attempt(**values)


class SQLiteWebhooks:
    def __init__(self, db: Database):
        self.db = db

    async def get_webhook(self, webhook_id: str) -> WebhookRow | None:
        rows = await self.db.fetch(f"SELECT {_WEBHOOK} FROM webhooks WHERE webhook_id = ?", webhook_id)
        return _webhook(rows[0]) if rows else None

    async def list_webhooks(self, tenant: str | None) -> list[WebhookRow]:
        if tenant is None:
            sql = f"SELECT {_WEBHOOK} FROM webhooks ORDER BY created_position"
            return [_webhook(r) for r in await self.db.fetch(sql)]
        sql = f"SELECT {_WEBHOOK} FROM webhooks WHERE tenant = ? AND status <> 'deleted' ORDER BY created_position"
        return [_webhook(r) for r in await self.db.fetch(sql, tenant)]

    async def count_webhooks(self, tenant: str) -> int:
        sql = "SELECT count(*) AS n FROM webhooks WHERE tenant = ? AND status <> 'deleted'"
        return (await self.db.fetch(sql, tenant))[0]["n"]

    async def put_secret(self, webhook_id: str, secret_id: str, secret: str, now: datetime) -> None:
        sql = "INSERT INTO webhook_secrets (webhook_id, secret_id, secret, created_at) VALUES (?, ?, ?, ?)"
        await self.db.write(sql, webhook_id, secret_id, secret, time_text(now))

    async def secrets(self, webhook_id: str, secret_ids: Sequence[str]) -> dict[str, str]:
        sql = "SELECT secret_id, secret FROM webhook_secrets WHERE webhook_id = ? AND secret_id IN (SELECT value FROM json_each(?))"
        rows = await self.db.fetch(sql, webhook_id, _json_list(secret_ids))
        return {r["secret_id"]: r["secret"] for r in rows}

    async def drop_secrets(self, webhook_id: str) -> None:
        await self.db.write("DELETE FROM webhook_secrets WHERE webhook_id = ?", webhook_id)

    async def dispatched(self) -> int:
        rows = await self.db.fetch("SELECT position FROM webhook_checkpoint WHERE name = 'dispatch'")
        return rows[0]["position"] if rows else 0

    async def enqueue(
        self, after: int, position: int, deliveries: Sequence[Delivery], now: datetime, lease_until: datetime,
        room: dict[str, int], redact: Redact,
    ) -> list[Delivery] | None:
        """One write transaction, so the one writer keeps redact_bodies from overlapping it."""

        def enqueue(conn: sqlite3.Connection) -> tuple[set[str], list[Delivery]] | None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                current = first(conn, "SELECT position FROM webhook_checkpoint WHERE name = 'dispatch'")
                if (current["position"] if current else 0) != after:
                    return None
                conn.execute(
                    "INSERT INTO webhook_checkpoint (name, position) VALUES ('dispatch', ?) "
                    "ON CONFLICT (name) DO UPDATE SET position = excluded.position", (position,),
                )
                jobs = _json_list({d.job_id.hex for d in deliveries})
                erased = {
                    UUID(r[0]) for r in conn.execute(
                        "SELECT job_id FROM job_status WHERE job_id IN (SELECT value FROM json_each(?)) "
                        "AND json_extract(doc, '$.erased_at') IS NOT NULL", (jobs,),
                    )
                } if deliveries else set()
                queued = [redacted(d, redact) if d.job_id in erased else d for d in deliveries]
                pending = {
                    (r[0], UUID(r[1])) for r in conn.execute(
                        "SELECT DISTINCT webhook_id, job_id FROM webhook_deliveries WHERE state = 'pending' "
                        "AND webhook_id IN (SELECT value FROM json_each(?)) AND job_id IN (SELECT value FROM json_each(?))",
                        (_json_list({d.webhook_id for d in deliveries}), jobs),
                    )
                } if deliveries else set()
                taken = handed_over(queued, pending, room)
                at, lease = time_text(now), time_text(lease_until)
                conn.executemany(
                    f"INSERT OR IGNORE INTO webhook_deliveries ({_DELIVERY}, leased_until) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?, NULL, ?)",
                    [(d.delivery_id, d.webhook_id, d.job_id.hex, d.position, d.event_type, d.body, at, at,
                      lease if d.delivery_id in taken else None) for d in queued],
                )
            return taken, queued

        done = await self.db.writer.run(enqueue)
        if done is None:
            return None
        taken, queued = done
        return [replace(d, next_attempt_at=now, created_at=now) for d in queued if d.delivery_id in taken]

    async def claim_deliveries(self, now: datetime, lease_until: datetime, limit: int, busy: Sequence[str]) -> list[Delivery]:
        at = time_text(now)
        args = (time_text(lease_until), at, at, _json_list(busy), limit)
        return [_delivery(r) for r in await self.db.writer.run(_rows, _CLAIM, args)]

    async def record_attempts(self, results: Sequence[tuple[Attempt, str, datetime]]) -> None:
        def record(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR IGNORE INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, "
                    "duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
                    [(a.delivery_id, a.attempt, time_text(a.attempted_at), a.status_code, a.error, a.duration_ms)
                     for a, _, _ in results],
                )
                conn.executemany(
                    "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, leased_until = NULL, "
                    "delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END WHERE delivery_id = ?",
                    [(state, a.attempt, time_text(due), state, time_text(a.attempted_at), a.delivery_id)
                     for a, state, due in results],
                )

        await self.db.writer.run(record)

    async def list_deliveries(self, webhook_id: str, limit: int) -> list[tuple[Delivery, list[Attempt]]]:
        sql = f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE webhook_id = ? ORDER BY position DESC LIMIT ?"
        deliveries = [_delivery(r) for r in await self.db.fetch(sql, webhook_id, limit)]
        sql = (
            "SELECT * FROM webhook_attempts WHERE delivery_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY delivery_id, attempt"
        )
        attempts: dict[str, list[Attempt]] = {}
        for row in await self.db.fetch(sql, _json_list([d.delivery_id for d in deliveries])):
            attempts.setdefault(row["delivery_id"], []).append(_attempt(row))
        return [(d, attempts.get(d.delivery_id, [])) for d in deliveries]

    async def get_delivery(self, delivery_id: str) -> Delivery | None:
        rows = await self.db.fetch(f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE delivery_id = ?", delivery_id)
        return _delivery(rows[0]) if rows else None

    async def resend(self, delivery_id: str, now: datetime) -> None:
        sql = (
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, schedule_from = attempts "
            "WHERE delivery_id = ?"
        )
        await self.db.write(sql, time_text(now), delivery_id)

    async def job_types(self, job_ids: Sequence[UUID]) -> dict[UUID, str]:
        sql = "SELECT job_id, type FROM job_status WHERE job_id IN (SELECT value FROM json_each(?))"
        rows = await self.db.fetch(sql, _json_list([j.hex for j in job_ids]))
        return {UUID(r["job_id"]): r["type"] for r in rows}

    async def redact_bodies(self, job_id: UUID, redact: Redact) -> int:
        """A job with no delivery takes no write transaction: called once its erasure committed,
        so an enqueue the one writer runs later sees the erasure and redacts by itself."""
        sql = "SELECT 1 FROM webhook_deliveries WHERE job_id = ? LIMIT 1"
        if not await self.db.fetch(sql, job_id.hex):
            return 0

        def rewrite(conn: sqlite3.Connection) -> int:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                rows = conn.execute(
                    "SELECT delivery_id, event_type, body FROM webhook_deliveries WHERE job_id = ?", (job_id.hex,)
                ).fetchall()
                bodies = {r[0]: body for r in rows if (body := redact(r[1], r[2])) is not None}
                if bodies:
                    given = codec.dumps(bodies)
                    conn.execute(
                        "UPDATE webhook_deliveries SET body = (SELECT value FROM json_each(?) WHERE key = delivery_id) "
                        "WHERE delivery_id IN (SELECT key FROM json_each(?))", (given, given),
                    )
            return len(bodies)

        return await self.db.writer.run(rewrite)


def _json_list(values: Sequence[str]) -> str:
    return codec.dumps(list(values))


def _rows(conn: sqlite3.Connection, sql: str, args) -> list[sqlite3.Row]:
    with conn:
        cursor = conn.cursor()
        cursor.row_factory = sqlite3.Row
        cursor.execute("BEGIN IMMEDIATE")
        return cursor.execute(sql, args).fetchall()
