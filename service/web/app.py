"""The aiohttp application factory (the only place a backend is chosen) and the middleware of every request."""

import asyncio
import contextlib
import time

from aiohttp import web

from jobledger.eventlog.follower import LogFollower
from jobledger.application import bodies
from jobledger.web import audit_routes, auth, errors, graph_routes, guards, headers, keys, live_routes, logs, metrics_routes, openapi, schedule_routes, schemas, tokens, type_routes, ui_routes, webhook_routes, worker_routes
from jobledger.application import projection_runner, storage, sweeper, tracing
from jobledger.application.scheduler import Scheduler
from jobledger.application.schedules import Schedules
from jobledger.web.config import Settings
from jobledger.application.estimates import Estimates
from jobledger.application.jobs import Jobs
from jobledger.application.metrics import Metrics
from jobledger.web.routes import routes
from jobledger.application.types import TypeRegistry


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[middleware], client_max_size=settings.max_body_bytes)
    app[keys.metrics_key] = Metrics()
    app[keys.settings_key] = settings
    app[keys.started_key] = time.monotonic()
    guards.setup(app, settings)
    app[schemas.limits_key] = bodies.Limits(settings.max_json_depth, settings.max_string_length, settings.max_array_length)
    app.cleanup_ctx.append(_gc_context)
    app.cleanup_ctx.append(_traces_context)
    app.cleanup_ctx.append(tokens.context)  # before the stores': the Authenticator takes the verifier
    app.cleanup_ctx.append(_stores_context)
    app.cleanup_ctx.append(_follower_context)
    app.cleanup_ctx.append(_sweeper_context)
    app.cleanup_ctx.append(_scheduler_context)
    app.cleanup_ctx.append(_projections_context)
    app.cleanup_ctx.append(webhook_routes.context)  # the endpoints, and their deliveries from the log
    app.cleanup_ctx.append(audit_routes.checkpoints_context)  # the log's tree, built after the appends commit
    app.cleanup_ctx.append(live_routes.hub_context)
    app.on_shutdown.append(live_routes.close_sockets)  # before aiohttp waits for open handlers
    app.add_routes(routes)
    app.add_routes(worker_routes.routes)
    app.add_routes(type_routes.routes)
    app.add_routes(schedule_routes.routes)
    app.add_routes(webhook_routes.routes)
    app.add_routes(graph_routes.routes)
    app.add_routes(live_routes.routes)
    app.add_routes(metrics_routes.routes)
    app.add_routes(audit_routes.routes)
    app.add_routes(ui_routes.routes)
    app.add_routes(openapi.routes)
    openapi.document_bytes()  # built (and checked) once, at start-up
    headers.setup(app, settings)  # after every route
    return app


@web.middleware
async def middleware(request: web.Request, handler) -> web.StreamResponse:
    """Every request, in this order: its id and log context (logs), its timing (metrics_routes),
    its span (tracing), errors made answers (errors), the Host and Origin it may come from
    (guards), who asks and may they (auth), then the route's handler.

    One middleware, not one per concern: each is another coroutine and frame per request.
    The timing covers error answers; an exception that escapes (a redirect, a cancelled
    request) is not timed.
    """
    logs.request_context(request)
    started = time.perf_counter()
    resource = request.match_info.route.resource
    with tracing.serving(request.method, resource.canonical if resource else "unmatched", request.headers) as span:
        try:
            guards.check(request)
            await auth.admit(request)
            response = await handler(request)
        except Exception as exc:
            response = errors.answer(request, exc)
        tracing.answered(span, response.status)
    metrics_routes.observe(request, response, started)
    return response


async def _gc_context(app: web.Application):
    app[keys.metrics_key].watch_gc()
    yield
    app[keys.metrics_key].unwatch_gc()


async def _traces_context(app: web.Application):
    shutdown = tracing.configure(app[keys.settings_key].otel_exporter)
    yield
    if shutdown is not None:
        shutdown()  # the spans still buffered are exported


async def _stores_context(app: web.Application):
    settings = app[keys.settings_key]
    stores = await storage.open_stores(settings.db, migrate=settings.migrate_on_start)
    app[keys.stores_key] = stores
    app[keys.jobs_key] = jobs = Jobs(stores, metrics=app[keys.metrics_key])
    app[keys.estimates_key] = estimates = Estimates(stores, settings.estimate_cache_seconds)
    await stores.log.listen(jobs.rows_written)  # what any instance commits wakes this one's long polls
    app[keys.types_key] = TypeRegistry(
        stores, strict=settings.strict_types, max_payload_bytes=settings.max_payload_bytes
    )
    verifier = app.get(tokens.verifier_key)
    app[auth.authenticator_key] = auth.Authenticator(
        stores, required=settings.auth_required, cache_seconds=settings.auth_cache_seconds,
        rate=settings.per_tenant("rate_limit"), tokens=verifier and verifier.principal, is_token=tokens.looks_like_jwt,
    )
    # the jobs' clock, which tests set
    app[keys.schedules_key] = Schedules(
        stores, app[keys.types_key], lambda: jobs.clock(), settings.per_tenant("max_schedules")
    )
    if settings.types_file:
        await app[keys.types_key].load_file(settings.types_file, jobs.clock())
    yield
    await estimates.close()
    await stores.close()


async def _follower_context(app: web.Application):
    follower = LogFollower(app[keys.stores_key].log)
    await follower.start()
    app[keys.follower_key] = follower

    def types_changed(batch) -> None:
        """A type was defined, paused or resumed (on any instance): read it afresh, and wake the
        long-polling claims, which a resume may now feed."""
        if app[keys.types_key].forget(batch):
            app[keys.jobs_key].rows_written(None)

    follower.subscribe(types_changed)
    yield
    await follower.stop()


async def _sweeper_context(app: web.Application):
    settings = app[keys.settings_key]
    task = asyncio.create_task(sweeper.run(app[keys.jobs_key], settings.sweep_interval, settings.retention_seconds))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _scheduler_context(app: web.Application):
    """Each instance fires the schedules whose time has come (application/scheduler.py)."""
    scheduler = app[keys.scheduler_key] = Scheduler(app[keys.jobs_key], app[keys.types_key])
    app[keys.follower_key].subscribe(scheduler.seen)
    task = asyncio.create_task(scheduler.run()) if app[keys.settings_key].scheduler else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _projections_context(app: web.Application):
    follower = app[keys.follower_key]
    feed = projection_runner.Feed(follower.position)  # read and subscribed together: nothing falls between
    follower.subscribe(feed.add)
    task = asyncio.create_task(projection_runner.run(app[keys.stores_key], feed))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
