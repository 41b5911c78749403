"""The `jobledger` command line."""

import asyncio
import logging

import click
from aiohttp import web

from projections import job_status
from service import storage
from service.app import create_app
from service.config import Settings

_db_option = click.option(
    "--db", "db", envvar=["DATABASE_URL", "JOBLEDGER_DB"], default=None,
    help="sqlite:///path/file.db, sqlite:///:memory: or postgresql://user@host:port/db [default: sqlite:///jobledger.db]",
)


def _settings(**overrides) -> Settings:
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    try:
        storage.backend_of(settings.db)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--db") from None
    return settings


@click.group()
def main() -> None:
    """jobledger: an event-sourced job service."""


@main.command()
@_db_option
@click.option("--host", default=None, help="address to bind [default: 127.0.0.1]")
@click.option("--port", type=int, default=None, help="port to listen on [default: 8080]")
def serve(db: str | None, host: str | None, port: int | None) -> None:
    """Run the HTTP service (migrates the database first)."""
    settings = _settings(db=db, host=host, port=port)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    click.echo(f"jobledger on http://{settings.host}:{settings.port} storing to {settings.db}")
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)


@main.command()
@_db_option
def migrate(db: str | None) -> None:
    """Apply pending schema migrations."""
    settings = _settings(db=db)
    asyncio.run(storage.migrate(settings.db))
    click.echo(f"migrated {settings.db}")


@main.group()
def projections() -> None:
    """Manage read models."""


@projections.command("rebuild")
@_db_option
def rebuild(db: str | None) -> None:
    """Drop the job status read model and replay it from the event log."""
    settings = _settings(db=db)
    count = asyncio.run(_rebuild(settings.db))
    click.echo(f"rebuilt {job_status.NAME}: {count} jobs")


async def _rebuild(url: str) -> int:
    store = await storage.open_store(url)
    try:
        return await store.rebuild_status(job_status.Rebuild())
    finally:
        await store.close()
