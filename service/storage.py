"""Opening a store for a database URL, and applying migrations to it."""


import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import StaticPool

import migrations
from eventlog.postgres import PostgresEventStore, asyncpg_dsn
from eventlog.sqlite import SQLiteEventStore, sqlite_path
from eventlog.store import EventStore

MIGRATION_LOCK = 0x6A6C6D67  # serialises migrations of instances starting together


def backend_of(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        return "postgresql"
    if url.startswith("sqlite:") or url == ":memory:":
        return "sqlite"
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path, sqlite:///:memory: or postgresql://...")


async def open_store(url: str, *, migrate: bool = True) -> EventStore:
    """The store for `url`, migrated to the newest schema unless told otherwise."""
    if backend_of(url) == "sqlite":
        store = SQLiteEventStore(sqlite_path(url))
        if migrate:
            await store.run_on_writer(_migrate_sqlite)
        return store
    if migrate:
        await migrate_postgres(url)
    return await PostgresEventStore.open(url)


def _migrate_sqlite(raw_connection) -> None:
    engine = sa.create_engine("sqlite://", creator=lambda: raw_connection, poolclass=StaticPool)
    with engine.connect() as conn:
        migrations.upgrade_connection(conn)
        conn.commit()


async def migrate_postgres(url: str) -> None:
    engine = create_async_engine("postgresql+asyncpg://" + asyncpg_dsn(url).split("://", 1)[1])
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            await conn.run_sync(migrations.upgrade_connection)
    finally:
        await engine.dispose()


async def migrate(url: str) -> None:
    """Apply every pending migration to the database at `url`."""
    store = await open_store(url, migrate=True)
    await store.close()


