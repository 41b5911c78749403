"""`GET /metrics` in the Prometheus text format, and the timing of every request."""

import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from jobledger.web import auth, keys
from jobledger.application import projection_runner

routes = web.RouteTableDef()

UNMATCHED = "unmatched"  #: the route label of requests no route matched (404, 405): one series, not one per path
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe(request: web.Request, response: web.StreamResponse, started: float) -> None:
    """Time a request under its route's canonical path (`/jobs/{id}`), never the raw path.

    The time is taken once errors are answers (see app.middleware). A WebSocket's time is
    its connection's life, not a latency: sockets are counted, not timed.
    """
    if not isinstance(response, web.WebSocketResponse):
        method = request.method if request.method in _METHODS else "other"
        series = request.app[keys.metrics_key].http_series(method, _route(request), response.status)
        series.observe(time.perf_counter() - started)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


@routes.get("/metrics")
@auth.requires("operate")  # counts and job types across every tenant: an operator's view, not a tenant admin's
async def metrics(request: web.Request) -> web.Response:
    app_metrics = request.app[keys.metrics_key]
    stores = request.app[keys.stores_key]
    app_metrics.set_jobs(await stores.status.count_by_type_and_status())
    app_metrics.set_paused(await stores.registry.paused_types())
    app_metrics.set_lags(await projection_runner.lags(stores))
    app_metrics.sockets.set(request.app[keys.hub_key].open_sockets())
    return web.Response(body=generate_latest(app_metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
