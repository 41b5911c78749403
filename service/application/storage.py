"""Opening the stores for a database URL, and applying migrations to it."""


import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import StaticPool

from jobledger import migrations
from jobledger.eventlog import postgres, sqlite
from jobledger.eventlog.protocols import Stores

MIGRATION_LOCK = 0x6A6C6D67  # serialises migrations of instances starting together


def backend_of(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        return "postgresql"
    if url.startswith("sqlite:") or url == ":memory:":
        return "sqlite"
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path, sqlite:///:memory: or postgresql://...")


async def open_stores(url: str, *, migrate: bool = True) -> Stores:
    """The stores for `url`, migrated to the newest schema unless told otherwise."""
    if backend_of(url) == "sqlite":
        db = sqlite.Database(sqlite.sqlite_path(url))
        if migrate:
            await db.writer.run(_migrate_sqlite)  # on the writer, so that ':memory:' gets its schema
        return sqlite.stores(db)
    if migrate:
        await migrate_postgres(url)
    return await postgres.open_stores(url)


def _migrate_sqlite(raw_connection) -> None:
    engine = sa.create_engine("sqlite://", creator=lambda: raw_connection, poolclass=StaticPool)
    with engine.connect() as conn:
        migrations.upgrade_connection(conn)
        conn.commit()


async def migrate_postgres(url: str) -> None:
    engine = create_async_engine("postgresql+asyncpg://" + postgres.asyncpg_dsn(url).split("://", 1)[1])
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            await conn.run_sync(migrations.upgrade_connection)
    finally:
        await engine.dispose()


async def migrate(url: str) -> None:
    """Apply every pending migration to the database at `url`."""
    stores = await open_stores(url, migrate=True)
    await stores.close()

