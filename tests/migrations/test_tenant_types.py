"""Migration 0011: job types move to a (tenant, name) key; the types registered before it
become the tenant "default"'s, on both backends, and a downgrade keeps only those."""

import sqlalchemy as sa
from alembic import command
from sqlalchemy.ext.asyncio import create_async_engine

from jobledger import migrations
from jobledger.application import storage
from jobledger.application.jobs import utcnow
from jobledger.eventlog.records import TypeRow
from tests.workers.helpers import define_type

_TYPE = {"max_running": 2, "schema": {"type": "object"}}


async def _on(db_url: str, fn):
    """Run fn(sync connection) in one transaction on the database at `db_url`."""
    if db_url.startswith("sqlite"):
        with sa.create_engine(db_url).begin() as conn:
            return fn(conn)
    engine = create_async_engine(db_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _to(revision: str, downgrade: bool = False):
    def run(connection) -> None:
        cfg = migrations.config()
        cfg.attributes["connection"] = connection
        (command.downgrade if downgrade else command.upgrade)(cfg, revision)

    return run


def _insert_0010_type(connection) -> None:
    connection.execute(
        sa.text("INSERT INTO job_types (name, config, updated_at) VALUES ('report', :config, :at)"),
        {"config": '{"max_running": 2, "schema": {"type": "object"}}',
         "at": utcnow().isoformat() if connection.dialect.name == "sqlite" else utcnow()},
    )


async def test_types_registered_before_0011_become_the_default_tenants(db_url):
    await storage.migrate(db_url)
    await _on(db_url, _to("0010", downgrade=True))
    await _on(db_url, _insert_0010_type)
    await _on(db_url, _to("head"))

    stores = await storage.open_stores(db_url)
    try:
        assert await stores.registry.get_types("default") == {"report": TypeRow(_TYPE)}  # version 0: no stream yet
        assert await stores.registry.get_types("acme") == {}
        await define_type(stores, "acme", "report", {"max_running": 9})  # same name, another tenant
        assert await stores.registry.get_types("acme") == {"report": TypeRow({"max_running": 9}, version=1)}
        assert await stores.registry.get_types("default") == {"report": TypeRow(_TYPE)}
    finally:
        await stores.close()

    await _on(db_url, _to("0010", downgrade=True))  # back: the default tenant's types only

    def names(connection) -> list:
        return [tuple(r) for r in connection.execute(sa.text("SELECT name FROM job_types"))]

    assert await _on(db_url, names) == [("report",)]
    await _on(db_url, _to("head"))
