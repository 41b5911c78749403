"""The `jobledger` command line."""

import asyncio
import contextlib
import gc
import importlib
import os
import sys
import time
from typing import get_args

import click
import pydantic
import structlog
from aiohttp import web

from jobledger.projections import job_status
from jobledger.web import auth, logs
from jobledger.application import bodies, projection_runner, storage, sweeper, transfer
from jobledger.application.jobs import utcnow
from jobledger.eventlog import trigger_models
from jobledger.cli import audit as signed_log
from jobledger.cli import verify
from jobledger.cli.tail import tail
from jobledger.web.app import create_app
from jobledger.web.config import Settings

_db_option = click.option(
    "--db", "db", envvar=["DATABASE_URL", "JOBLEDGER_DB"], default=None,
    help="sqlite:///path/file.db, sqlite:///:memory: or postgresql://user@host:port/db [default: sqlite:///jobledger.db]",
)



def _choice(field: str) -> click.Choice:
    return click.Choice(get_args(Settings.model_fields[field].annotation), case_sensitive=False)


def _log_options(command):
    """--log-level and --log-format (else JOBLEDGER_LOG_LEVEL, JOBLEDGER_LOG_FORMAT)."""
    command = click.option("--log-level", type=_choice("log_level"), default=None, help="[default: INFO]")(command)
    return click.option(
        "--log-format", type=_choice("log_format"), default=None,
        help="json (one object a line) or console [default: json]",
    )(command)


def _settings(**overrides) -> Settings:
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        raise click.UsageError(f"setting {'.'.join(map(str, error['loc']))}: {bodies.reason(error)}") from None
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
@click.option(
    "--auth", type=click.Choice(["auto", "required"]), default=None, envvar="JOBLEDGER_AUTH",
    help="auto: no key needed on loopback only; required: API keys everywhere [default: auto]",
)
@click.option(
    "--loop", "event_loop", type=click.Choice(["asyncio", "uvloop"]), default="asyncio", envvar="JOBLEDGER_LOOP",
    help="the event loop; uvloop (pip install uvloop) spends ~10% less CPU a request [default: asyncio]",
)
@_log_options
def serve(
    db: str | None, host: str | None, port: int | None, auth: str | None, event_loop: str, log_level: str | None,
    log_format: str | None,
) -> None:
    """Run the HTTP service (migrates the database first)."""
    settings = _settings(db=db, host=host, port=port, auth=auth, log_level=log_level, log_format=log_format)
    logs.configure(settings.log_level, settings.log_format)
    mode = "API keys required" if settings.auth_required else "OPEN: no API key needed (loopback only)"
    structlog.get_logger("jobledger").info(
        "serving", url=f"http://{settings.host}:{settings.port}", db=logs.redact(settings.db), auth=mode
    )
    app = create_app(settings)
    app.on_startup.append(_tune_gc_at_start)  # runs after create_app's start-up contexts
    loop = _new_event_loop(event_loop)
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log_class=logs.AccessLogger, loop=loop)


def _new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "asyncio":
        return asyncio.new_event_loop()
    try:
        import uvloop
    except ImportError:
        raise click.UsageError("--loop uvloop needs uvloop installed: pip install uvloop") from None
    return uvloop.new_event_loop()


YOUNG_GC_THRESHOLD = 10_000  # CPython's default is 700


async def _tune_gc_at_start(app: web.Application) -> None:
    _tune_gc()


def _tune_gc() -> None:
    """Move what start-up left (modules, migrations: ~150,000 objects) out of the cyclic
    collector's reach, and collect the young generation less often.

    A full collection walks every tracked object while the event loop stands still; what
    start-up made lives as long as the process, so walking it again is pure pause (see
    jobledger_gc_pause_seconds). Under load, hundreds of requests in flight keep many young
    objects alive at once: in bench/throughput.py over HTTP, CPython's default of 700 meant
    about 260 young, 24 middle and 2 full collections a second, 9% of the service's time;
    at 10,000, about 5 young ones and no full one, 2.5% (and about 5% more jobs a second).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *gc.get_threshold()[1:])


@main.command()
@_db_option
def migrate(db: str | None) -> None:
    """Apply pending schema migrations."""
    settings = _settings(db=db)
    asyncio.run(storage.migrate(settings.db))
    click.echo(f"migrated {settings.db}")


@main.group()
def audit() -> None:
    """Check the log's tamper evidence."""


for _command in (*signed_log.COMMANDS, *verify.COMMANDS):  # keygen, bundle: cli/audit.py; verify...: cli/verify.py
    audit.add_command(_command)


@main.command("export")
@_db_option
@click.option("--after", type=int, default=0, help="only events past this log position")
def export(db: str | None, after: int) -> None:
    """Write the log as JSON lines (hashes included) to standard output."""
    settings = _settings(db=db)
    asyncio.run(_export(settings.db, after))


async def _export(url: str, after: int) -> None:
    stores = await storage.open_stores(url)
    out = sys.stdout.buffer
    try:
        async for line in transfer.export_lines(stores, after):
            out.write(line)
    finally:
        await stores.close()


@main.command("import")
@_db_option
@click.argument("file", type=click.File("rb"))
@click.option("--key", default=None, help="the log's verifier key (or a file holding it): refuse unless its checkpoints verify")
def import_(db: str | None, file, key: str | None) -> None:
    """Check the export's tree against its checkpoints (writing nothing if one fails), load it into
    an empty store, rebuild read models and verify every chain."""
    settings = _settings(db=db)
    report = asyncio.run(_import(settings.db, file, verify.verifier_key(key) if key else None))
    if not report.ok:
        for problem in report.problems:
            click.echo(f"imported, but BROKEN {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"imported and verified {report.checked} events, {report.checkpoints} checkpoints")


async def _import(url: str, file, key):
    stores = await storage.open_stores(url)
    try:
        return await transfer.import_lines(stores, file, key)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        await stores.close()


@main.group()
def projections() -> None:
    """Manage read models."""


@projections.command("rebuild")
@_db_option
@click.argument(
    "name", default=job_status.NAME,
    type=click.Choice([job_status.NAME, *projection_runner.PROJECTIONS, *trigger_models.MODELS]),
)
def rebuild(db: str | None, name: str) -> None:
    """Rebuild a read model from the log (default: job_status).

    job_status is replaced in one transaction (reads go on; appends wait). An
    asynchronous projection is built beside the live one, then swapped in.
    job_edges, schedules and webhooks are made again by their triggers' own code,
    replaying their events in one transaction (reads go on; their writers wait).
    """
    settings = _settings(db=db)
    if name == job_status.NAME:
        count = asyncio.run(_rebuild(settings.db, settings.retention_seconds))
        click.echo(f"rebuilt {job_status.NAME}: {count} jobs")
        return
    if name in trigger_models.MODELS:
        count = asyncio.run(_rebuild_table(settings.db, trigger_models.MODELS[name]))
        click.echo(f"rebuilt {name}: {count} rows")
        return
    position = asyncio.run(_rebuild_async(settings.db, name))
    click.echo(f"rebuilt {name} up to position {position} and swapped it in")


async def _rebuild_table(url: str, model: trigger_models.TriggerModel) -> int:
    stores = await storage.open_stores(url)
    try:
        return await stores.projections.rebuild_table(model)
    finally:
        await stores.close()


async def _rebuild_async(url: str, name: str) -> int:
    stores = await storage.open_stores(url)
    try:
        with _progress(f"rebuilding {name}", await stores.log.head()) as advance:
            return await projection_runner.rebuild(stores, name, advance)
    finally:
        await stores.close()


@contextlib.contextmanager
def _progress(label: str, length: int):
    """A progress bar on stderr with the rate and ETA; yields `advance(n)`."""
    started = time.monotonic()
    with click.progressbar(
        length=length, label=label, show_pos=True, show_eta=True,
        item_show_func=lambda rate: rate, file=click.get_text_stream("stderr"),
    ) as bar:

        def advance(count: int) -> None:
            rate = (bar.pos + count) / max(time.monotonic() - started, 1e-6)
            bar.update(count, f"{rate:,.0f}/s")

        yield advance


@projections.command("status")
@_db_option
def projections_status(db: str | None) -> None:
    """Show each read model's checkpoint and how far it lags the log."""
    settings = _settings(db=db)
    for name, state in asyncio.run(_lags(settings.db)).items():
        click.echo(f"{name:<12} position {state['position']:>10}  lag {state['lag']:>8}")


async def _lags(url: str) -> dict:
    stores = await storage.open_stores(url)
    try:
        return await projection_runner.lags(stores)
    finally:
        await stores.close()


async def _rebuild(url: str, retention_seconds: float) -> int:
    stores = await storage.open_stores(url)
    try:
        fold = job_status.Rebuild(sweeper.retention_cutoff(utcnow(), retention_seconds))
        with _progress(f"rebuilding {job_status.NAME}", await stores.log.head()) as advance:
            return await stores.status.rebuild_status(fold, advance)
    finally:
        await stores.close()


@main.command()
@click.argument("target", metavar="MODULE:ATTR")
@click.option("--url", default=None, help="the service to work for over HTTP, e.g. http://127.0.0.1:8080")
@click.option("--db", default=None, help="or a database URL, to work in-process")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, help="jobs in flight at once")
@click.option("--grace", type=click.FloatRange(min=0), default=None, help="seconds jobs in flight get to finish on SIGTERM")
@_log_options
def worker(
    target: str, url: str | None, db: str | None, concurrency: int | None, grace: float | None,
    log_level: str | None, log_format: str | None,
) -> None:
    """Run the jobledger.worker.Worker at MODULE:ATTR until SIGTERM or SIGINT."""
    settings = _settings(log_level=log_level, log_format=log_format)
    the_worker = _import_worker(target)
    if url is not None or db is not None:
        the_worker.url, the_worker.db = url, db
    if concurrency is not None:
        the_worker.concurrency = concurrency
    if grace is not None:
        the_worker.shutdown_grace = grace
    logs.configure(settings.log_level, settings.log_format)
    the_worker.stop_on_signals()  # before the start-up below: SIGTERM meanwhile is a clean stop
    _tune_gc()
    try:
        the_worker.run_forever()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _import_worker(target: str):
    from jobledger.sdk.worker import Worker

    module_name, _, attr = target.partition(":")
    sys.path.insert(0, os.getcwd())  # as `python -m` would: the worker's module is usually beside the caller
    try:
        found = getattr(importlib.import_module(module_name), attr or "worker")
    except (ImportError, AttributeError) as exc:
        raise click.BadParameter(f"cannot import {target!r}: {exc}", param_hint="MODULE:ATTR") from None
    if not isinstance(found, Worker):
        raise click.BadParameter(f"{target!r} is a {type(found).__name__}, not a jobledger.worker.Worker")
    return found


@main.group("keys")
def keys_group() -> None:
    """Create, list and revoke API keys."""


@keys_group.command("create")
@_db_option
@click.option(
    "--role", type=click.Choice(auth.ROLES), required=True,
    help="what the key may do: client, worker, auditor, admin (of its tenant), or operator (service-wide "
    "/metrics and /health counts, no tenant's jobs)",
)
@click.option("--tenant", default=auth.DEFAULT_TENANT, show_default=True, help="whose jobs the key acts on")
@click.option("--types", default=None, help="comma-separated job types the key is limited to [default: all]")
@click.option("--name", default=None, help="a note to tell keys apart")
def keys_create(db: str | None, role: str, tenant: str, types: str | None, name: str | None) -> None:
    """Create a key and print it: it is shown this once, only its hash is stored."""
    type_names = tuple(t.strip() for t in types.split(",") if t.strip()) if types is not None else None
    if type_names == ():
        raise click.BadParameter("give at least one type", param_hint="--types")
    if not tenant.strip():
        raise click.BadParameter("must not be empty", param_hint="--tenant")
    key, record = auth.new_key(role, tenant, type_names, name, utcnow())
    asyncio.run(_with_stores(_settings(db=db).db, lambda stores: stores.registry.put_key(record)))
    click.echo(key)
    click.echo(f"key id {record.key_id}: role {role}, tenant {tenant!r}; store the key now, it is not shown again", err=True)


@keys_group.command("list")
@_db_option
def keys_list(db: str | None) -> None:
    """List keys (never the keys themselves)."""
    for key in asyncio.run(_with_stores(_settings(db=db).db, lambda stores: stores.registry.list_keys())):
        state = f"revoked {key.revoked_at.isoformat()}" if key.revoked_at else "active"
        types = ",".join(key.types) if key.types is not None else "*"
        click.echo(f"{key.key_id}\t{key.role}\t{key.tenant}\t{types}\t{key.name or ''}\t{key.created_at.isoformat()}\t{state}")


@keys_group.command("revoke")
@_db_option
@click.argument("key_id")
def keys_revoke(db: str | None, key_id: str) -> None:
    """Revoke a key by its id: it stops working within auth_cache_seconds on every instance."""
    if not asyncio.run(_with_stores(_settings(db=db).db, lambda stores: stores.registry.revoke_key(key_id, utcnow()))):
        raise click.ClickException(f"no active key with id {key_id!r}")
    click.echo(f"revoked {key_id}")


async def _with_stores(url: str, action):
    stores = await storage.open_stores(url)
    try:
        return await action(stores)
    finally:
        await stores.close()


main.add_command(tail)
