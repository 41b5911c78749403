"""Security headers and the request id on every response, and CORS for the origins the operator allows."""

import aiohttp_cors
from aiohttp import web

from jobledger.web import logs
from jobledger.web.config import Settings

_API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    # JSON answers run nothing and frame nothing; the dashboard's own pages load only from this origin
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'",
}
_ALLOW_HEADERS = (
    "Authorization", "Content-Type", "Idempotency-Key", "If-Match", "If-None-Match",
    "X-Request-Id", "X-Correlation-Id", "X-Actor",
)
_EXPOSE_HEADERS = ("ETag", "Location", "Retry-After", "X-Request-Id")


def setup(app: web.Application, settings: Settings) -> None:
    """Call once every route is added: CORS is declared per route."""
    headers = dict(_API_HEADERS)
    if settings.hsts:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        logs.echo_request_id(request, response)
        if response.status == 101:  # a WebSocket upgrade renders nothing; its headers live as long as the socket
            return
        for name, value in headers.items():
            response.headers.setdefault(name, value)

    app.on_response_prepare.append(stamp)
    if settings.cors_origins:
        options = aiohttp_cors.ResourceOptions(
            allow_credentials=False, allow_headers=_ALLOW_HEADERS, expose_headers=_EXPOSE_HEADERS, allow_methods="*",
            max_age=600,
        )
        cors = aiohttp_cors.setup(app, defaults={origin: options for origin in settings.cors_origins})
        for route in list(app.router.routes()):
            cors.add(route)
