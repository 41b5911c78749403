"""Storage of API keys (mixed into both event stores): insert, look up by hash, list, revoke."""

from datetime import datetime

from eventlog import codec
from eventlog.store import ApiKey

_COLUMNS = "key_id, key_hash, role, tenant, types, name, created_at, revoked_at"


def _key(row, parse_time=lambda t: t) -> ApiKey:
    key_id, key_hash, role, tenant, types, name, created_at, revoked_at = row
    types = codec.loads(types) if isinstance(types, str | bytes) else types
    return ApiKey(
        key_id, key_hash, role, tenant, None if types is None else tuple(types), name,
        parse_time(created_at), None if revoked_at is None else parse_time(revoked_at),
    )


def _types(key: ApiKey) -> str | None:
    return None if key.types is None else codec.dumps(list(key.types))


class PostgresKeyStore:
    async def put_key(self, key: ApiKey) -> None:
        sql = f"INSERT INTO api_keys ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5::json, $6, $7, $8)"
        await self._fetch(sql, key.key_id, key.key_hash, key.role, key.tenant, _types(key), key.name,
                          key.created_at, key.revoked_at)

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = await self._fetch(f"SELECT {_COLUMNS.replace('types', 'types::text')} FROM api_keys WHERE key_hash = $1",
                                 key_hash)
        return _key(rows[0]) if rows else None

    async def list_keys(self) -> list[ApiKey]:
        rows = await self._fetch(f"SELECT {_COLUMNS.replace('types', 'types::text')} FROM api_keys ORDER BY created_at, key_id")
        return [_key(r) for r in rows]

    async def revoke_key(self, key_id: str, now: datetime) -> bool:
        """Revoke a key; False if there is no such key or it was revoked already."""
        sql = "UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL RETURNING 1"
        return bool(await self._fetch(sql, key_id, now))


class SQLiteKeyStore:
    async def put_key(self, key: ApiKey) -> None:
        sql = f"INSERT INTO api_keys ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        args = (key.key_id, key.key_hash, key.role, key.tenant, _types(key), key.name,
                _time(key.created_at), key.revoked_at and _time(key.revoked_at))
        await self._writer.run(lambda conn: conn.execute(sql, args))

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = await self._fetch(f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ?", key_hash)
        return _key(rows[0], datetime.fromisoformat) if rows else None

    async def list_keys(self) -> list[ApiKey]:
        rows = await self._fetch(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, key_id")
        return [_key(r, datetime.fromisoformat) for r in rows]

    async def revoke_key(self, key_id: str, now: datetime) -> bool:
        sql = "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL"
        return await self._writer.run(lambda conn: conn.execute(sql, (_time(now), key_id)).rowcount) == 1


def _time(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")
