"""The aiohttp application factory: the only place where a backend is chosen."""

import asyncio
import contextlib
import time

from aiohttp import web

from service import keys, storage, sweeper
from service.config import Settings
from service.errors import error_middleware
from service.jobs import Jobs
from service.routes import routes


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=settings.max_body_bytes)
    app[keys.settings_key] = settings
    app[keys.started_key] = time.monotonic()
    app.cleanup_ctx.append(_store_context)
    app.cleanup_ctx.append(_sweeper_context)
    app.add_routes(routes)
    return app


async def _store_context(app: web.Application):
    settings = app[keys.settings_key]
    store = await storage.open_store(settings.db, migrate=settings.migrate_on_start)
    app[keys.store_key] = store
    app[keys.jobs_key] = Jobs(store)
    yield
    await store.close()


async def _sweeper_context(app: web.Application):
    task = asyncio.create_task(sweeper.run(app[keys.jobs_key], app[keys.settings_key].sweep_interval))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
