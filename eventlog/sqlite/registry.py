"""Job types and API keys on SQLite."""

import sqlite3
from datetime import datetime

from jobledger.eventlog import codec
from jobledger.eventlog.records import ApiKey, TypeRow
from jobledger.eventlog.sqlite.connection import Database, time_text

_KEY_COLUMNS = "key_id, key_hash, role, tenant, types, name, created_at, revoked_at"


def _key(row: sqlite3.Row) -> ApiKey:
    types = codec.loads(row["types"]) if row["types"] is not None else None
    return ApiKey(
        key_id=row["key_id"], key_hash=row["key_hash"], role=row["role"], tenant=row["tenant"],
        types=None if types is None else tuple(types), name=row["name"],
        created_at=datetime.fromisoformat(row["created_at"]),
        revoked_at=None if row["revoked_at"] is None else datetime.fromisoformat(row["revoked_at"]),
    )


class SQLiteRegistry:
    def __init__(self, db: Database):
        self.db = db

    async def get_types(self, tenant: str) -> dict[str, TypeRow]:
        sql = "SELECT name, config, paused, paused_reason, version FROM job_types WHERE tenant = ?"
        return {
            r["name"]: TypeRow(codec.loads(r["config"]), bool(r["paused"]), r["paused_reason"], r["version"])
            for r in await self.db.fetch(sql, tenant)
        }

    async def paused_types(self) -> list[tuple[str, str, str | None]]:
        rows = await self.db.fetch("SELECT tenant, name, paused_reason FROM job_types WHERE paused ORDER BY tenant, name")
        return [(r["tenant"], r["name"], r["paused_reason"]) for r in rows]

    async def put_key(self, key: ApiKey) -> None:
        sql = f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        types = None if key.types is None else codec.dumps(list(key.types))
        await self.db.write(
            sql, key.key_id, key.key_hash, key.role, key.tenant, types, key.name, time_text(key.created_at),
            time_text(key.revoked_at),
        )

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = await self.db.fetch(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?", key_hash)
        return _key(rows[0]) if rows else None

    async def list_keys(self) -> list[ApiKey]:
        rows = await self.db.fetch(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id")
        return [_key(r) for r in rows]

    async def revoke_key(self, key_id: str, now: datetime) -> bool:
        sql = "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL"
        return await self.db.write(sql, time_text(now), key_id) == 1
