"""Job types and API keys on PostgreSQL."""

from datetime import datetime

import asyncpg

from jobledger.eventlog import codec
from jobledger.eventlog.postgres.connection import Database
from jobledger.eventlog.records import ApiKey, TypeRow

_KEY_COLUMNS = "key_id, key_hash, role, tenant, types::text AS types, name, created_at, revoked_at"


def _key(row: asyncpg.Record) -> ApiKey:
    types = codec.loads(row["types"]) if row["types"] is not None else None
    return ApiKey(
        key_id=row["key_id"], key_hash=row["key_hash"], role=row["role"], tenant=row["tenant"],
        types=None if types is None else tuple(types), name=row["name"], created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


def _types(key: ApiKey) -> str | None:
    return None if key.types is None else codec.dumps(list(key.types))


class PostgresRegistry:
    def __init__(self, db: Database):
        self.db = db

    async def get_types(self, tenant: str) -> dict[str, TypeRow]:
        sql = "SELECT name, config::text AS config, paused, paused_reason, version FROM job_types WHERE tenant = $1"
        return {
            r["name"]: TypeRow(codec.loads(r["config"]), r["paused"], r["paused_reason"], r["version"])
            for r in await self.db.fetch(sql, tenant)
        }

    async def paused_types(self) -> list[tuple[str, str, str | None]]:
        rows = await self.db.fetch("SELECT tenant, name, paused_reason FROM job_types WHERE paused ORDER BY tenant, name")
        return [(r["tenant"], r["name"], r["paused_reason"]) for r in rows]

    async def put_key(self, key: ApiKey) -> None:
        sql = (
            "INSERT INTO api_keys (key_id, key_hash, role, tenant, types, name, created_at, revoked_at) "
            "VALUES ($1, $2, $3, $4, $5::json, $6, $7, $8)"
        )
        await self.db.fetch(
            sql, key.key_id, key.key_hash, key.role, key.tenant, _types(key), key.name, key.created_at, key.revoked_at
        )

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = await self.db.fetch(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1", key_hash)
        return _key(rows[0]) if rows else None

    async def list_keys(self) -> list[ApiKey]:
        rows = await self.db.fetch(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id")
        return [_key(r) for r in rows]

    async def revoke_key(self, key_id: str, now: datetime) -> bool:
        """Revoke a key; False if there is no such key or it was revoked already."""
        sql = "UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL RETURNING 1"
        return bool(await self.db.fetch(sql, key_id, now))
