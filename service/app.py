"""The aiohttp application factory (the only place a backend is chosen) and the middleware of every request."""

import asyncio
import contextlib
import time

from aiohttp import web

from eventlog.follower import LogFollower
from service import (
    auth, errors, headers, keys, live_routes, logs, metrics_routes, openapi, projection_runner, schemas, storage,
    sweeper, ui_routes, worker_routes,
)
from service.config import Settings
from service.jobs import Jobs
from service.metrics import Metrics
from service.routes import routes
from service.types import TypeRegistry


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[middleware], client_max_size=settings.max_body_bytes)
    app[keys.metrics_key] = Metrics()
    app[keys.settings_key] = settings
    app[keys.started_key] = time.monotonic()
    app[schemas.limits_key] = schemas.Limits(settings.max_json_depth, settings.max_string_length, settings.max_array_length)
    app.cleanup_ctx.append(_gc_context)
    app.cleanup_ctx.append(_store_context)
    app.cleanup_ctx.append(_follower_context)
    app.cleanup_ctx.append(_sweeper_context)
    app.cleanup_ctx.append(_projections_context)
    app.cleanup_ctx.append(live_routes.hub_context)
    app.on_shutdown.append(live_routes.close_sockets)  # before aiohttp waits for open handlers
    app.add_routes(routes)
    app.add_routes(worker_routes.routes)
    app.add_routes(live_routes.routes)
    app.add_routes(metrics_routes.routes)
    app.add_routes(ui_routes.routes)
    app.add_routes(openapi.routes)
    openapi.document_bytes()  # built (and checked) once, at start-up
    headers.setup(app, settings)  # after every route
    return app


@web.middleware
async def middleware(request: web.Request, handler) -> web.StreamResponse:
    """Every request, in this order: its id and log context (logs), its timing (metrics_routes),
    errors made answers (errors), who asks and may they (auth), then the route's handler.

    One middleware, not one per concern: each is another coroutine and frame per request.
    The timing covers error answers; an exception that escapes (a redirect, a cancelled
    request) is not timed.
    """
    logs.request_context(request)
    started = time.perf_counter()
    try:
        await auth.admit(request)
        response = await handler(request)
    except Exception as exc:
        response = errors.answer(request, exc)
    metrics_routes.observe(request, response, started)
    return response


async def _gc_context(app: web.Application):
    app[keys.metrics_key].watch_gc()
    yield
    app[keys.metrics_key].unwatch_gc()


async def _store_context(app: web.Application):
    settings = app[keys.settings_key]
    store = await storage.open_store(settings.db, migrate=settings.migrate_on_start)
    app[keys.store_key] = store
    app[keys.jobs_key] = jobs = Jobs(store, metrics=app[keys.metrics_key])
    await store.listen(jobs.rows_written)  # what any instance commits wakes this one's long polls
    app[keys.types_key] = TypeRegistry(store, strict=settings.strict_types, max_payload_bytes=settings.max_payload_bytes)
    app[auth.authenticator_key] = auth.Authenticator(
        store, required=settings.auth_required, cache_seconds=settings.auth_cache_seconds, rate=settings.rate_limit
    )
    if settings.types_file:
        await app[keys.types_key].load_file(settings.types_file, jobs.clock())
    yield
    await store.close()


async def _follower_context(app: web.Application):
    follower = LogFollower(app[keys.store_key])
    await follower.start()
    app[keys.follower_key] = follower
    yield
    await follower.stop()


async def _sweeper_context(app: web.Application):
    settings = app[keys.settings_key]
    task = asyncio.create_task(sweeper.run(app[keys.jobs_key], settings.sweep_interval, settings.retention_seconds))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _projections_context(app: web.Application):
    follower = app[keys.follower_key]
    feed = projection_runner.Feed(follower.position)  # read and subscribed together: nothing falls between
    follower.subscribe(feed.add)
    task = asyncio.create_task(projection_runner.run(app[keys.store_key], feed))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
