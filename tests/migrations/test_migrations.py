"""alembic upgrade head produces exactly the schema in eventlog/tables.py, on both backends."""

import sqlite3

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from jobledger.eventlog import shadow
from jobledger.eventlog.tables import metadata
from jobledger.application import storage

# SQLite's expression indexes (the claim's queue) cannot be reflected, so neither Alembic nor
# the inspector sees them there: test_sqlite_queue_indexes_are_the_ones_tables_py_defines does.
pytestmark = [
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index"),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
]


def _diff(connection) -> list:
    return compare_metadata(MigrationContext.configure(connection), metadata)


def _revision(connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _inspect(db_url: str, fn):
    if db_url.startswith("sqlite"):
        with sa.create_engine(db_url).connect() as conn:
            return fn(conn)
    engine = create_async_engine(db_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


async def test_upgrade_head_matches_tables_metadata(db_url):
    await storage.migrate(db_url)
    assert await _inspect(db_url, _diff) == []
    assert await _inspect(db_url, _revision) is not None


async def test_migrate_twice_is_harmless(db_url):
    await storage.migrate(db_url)
    first = await _inspect(db_url, _revision)
    await storage.migrate(db_url)
    assert await _inspect(db_url, _revision) == first


async def test_a_rebuilt_job_status_still_matches_tables_metadata(db_url):
    from jobledger.projections import job_status

    store = await storage.open_stores(db_url)
    try:
        await store.status.rebuild_status(job_status.Rebuild())
    finally:
        await store.close()
    assert await _inspect(db_url, _diff) == []


async def test_no_index_of_job_status_covers_what_a_progress_report_changes(db_url):
    """A progress report changes only these columns; PostgreSQL updates the row in place (HOT,
    touching no index) only if none of them is indexed (0004 once indexed updated_at)."""
    await storage.migrate(db_url)

    def indexed(connection) -> set[str]:
        indexes = sa.inspect(connection).get_indexes("job_status")
        columns = {c for index in indexes for c in index["column_names"] if c}
        predicates = " ".join(
            str(index.get("dialect_options", {}).get(f"{connection.dialect.name}_where", "")) for index in indexes
        )
        return columns | {c for c in ("updated_at", "version", "last_position", "doc") if c in predicates}

    indexed_columns = await _inspect(db_url, indexed)
    assert "finished_at" in indexed_columns  # the reflection sees what retention reads
    assert indexed_columns.isdisjoint({"updated_at", "version", "last_position", "doc"})


@pytest.mark.parametrize("rebuilt", [False, True], ids=["migrated", "rebuilt"])
async def test_sqlite_queue_indexes_are_the_ones_tables_py_defines(tmp_path, rebuilt):
    from jobledger.projections import job_status

    url = f"sqlite:///{tmp_path}/jobledger.db"
    await storage.migrate(url)
    if rebuilt:
        store = await storage.open_stores(url)
        try:
            await store.status.rebuild_status(job_status.Rebuild())
        finally:
            await store.close()
    expected = sorted(
        sql for sql in shadow.create_indexes("sqlite", final_names=True, table_name="job_status")
        if sql.startswith("CREATE INDEX job_status_queue")
    )

    conn = sqlite3.connect(tmp_path / "jobledger.db")
    try:
        stored = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE name LIKE 'job_status_queue%' ORDER BY sql")]
    finally:
        conn.close()

    assert len(expected) == 2 and stored == expected
