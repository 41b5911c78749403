"""What every PostgreSQL concern shares: the pool, the DSN, the appender's own connections,
and the wake-ups of LISTEN/NOTIFY (notify.py)."""

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from jobledger.eventlog.postgres import outage
from jobledger.eventlog.postgres.notify import Wakeups

APPEND_LANES = 4  # batches in flight at once: their commits overlap and share WAL flushes


class _PooledConnection(asyncpg.Connection):
    """Pool connections hold no session state (only transaction-level locks, no LISTEN, no SET),
    so the reset query asyncpg sends on every release would be a wasted round trip."""

    def get_reset_query(self) -> str:
        return ""


def asyncpg_dsn(url: str) -> str:
    """asyncpg wants postgresql://; accept SQLAlchemy's postgresql+asyncpg:// too."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass(frozen=True)
class Call:
    """A call of one of our SQL functions in named notation (`f(p_name => $1, ...)`): its
    arguments are given by parameter name, so no change of the function can shift one."""

    sql: str
    parameters: tuple[str, ...]

    def args(self, named: Mapping[str, Any]) -> list[Any]:
        """The values of `named`, in the order of the call's placeholders."""
        if len(named) != len(self.parameters):
            raise TypeError(f"expected arguments {self.parameters}, got {tuple(named)}")
        return [named[name] for name in self.parameters]


def call(function: str, parameters: Sequence[str], returns: str = "*") -> Call:
    named = ", ".join(f"{name} => ${i}" for i, name in enumerate(parameters, 1))
    return Call(f"SELECT {returns} FROM {function}({named})", tuple(parameters))


class Database:
    """The connections of one PostgreSQL database: the pool for reads and single writes, one
    connection per append lane (no pool reset query in the commit path), and the wake-ups."""

    def __init__(self, pool: asyncpg.Pool, dsn: str):
        self.pool = pool
        self.dsn = dsn
        self.wakeups = Wakeups(dsn)
        self._append_conns: list[asyncpg.Connection | None] = [None] * APPEND_LANES

    @classmethod
    async def open(cls, url: str, *, min_size: int = 2, max_size: int = 10) -> "Database":
        dsn = asyncpg_dsn(url)
        with outage.translated():
            pool = await asyncpg.create_pool(
                dsn, min_size=min_size, max_size=max_size, connection_class=_PooledConnection, connect=outage.connect
            )
        return cls(pool, dsn)

    @contextlib.asynccontextmanager
    async def connection(self):
        """A pooled connection; losing the database on the way is StoreUnavailable."""
        with outage.translated():
            # not acquire(timeout=): on 3.11 that wraps every acquire and release in a task of its own
            async with asyncio.timeout(outage.ACQUIRE_TIMEOUT):
                conn = await self.pool.acquire()
            try:
                yield conn
            finally:
                await self.pool.release(conn)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.connection() as conn:
            return await conn.fetch(sql, *args)

    async def append_connection(self, lane: int) -> asyncpg.Connection:
        """The lane's own connection, opened again if it was lost (call inside outage.translated())."""
        conn = self._append_conns[lane]
        if conn is None or conn.is_closed():
            conn = self._append_conns[lane] = await outage.connect(self.dsn)
        return conn

    def drop_append_connection(self, lane: int) -> None:
        """Let the lane's connection go (its last batch's outcome is unknown); the next opens a new one."""
        conn, self._append_conns[lane] = self._append_conns[lane], None
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        await self.wakeups.close()
        for conn in self._append_conns:
            if conn is not None:
                await conn.close()
        await self.pool.close()
