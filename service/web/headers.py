"""Security headers and the request id on every response, and CORS for the origins the operator allows."""

from typing import Any
from urllib.parse import quote

import aiohttp_cors
import orjson
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
# An artifact is whatever a worker stored: no type of it may run script in this origin (it would read
# the dashboard's saved key). A browser shows only types that cannot: text, as text/plain (HTML never
# renders), JSON, and raster images. Anything else (HTML, SVG, PDF, XML, JavaScript...) is a download
# of application/octet-stream, which no browser runs as a script even when a page asks it to.
INLINE_TEXT = frozenset({"text/plain", "text/csv", "text/markdown", "text/tab-separated-values"})
INLINE_AS_IS = frozenset({"application/json", "image/png", "image/jpeg", "image/gif", "image/webp"})
_ARTIFACT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # sandbox: were it rendered anyway, a unique origin without scripts, storage or forms
    "Content-Security-Policy": "sandbox; default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "private, no-cache",
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


def artifact_response(name: str, content_type: str, data: Any) -> web.Response:
    """An artifact's data, served so that no browser runs it (see INLINE_TEXT)."""
    media = content_type.split(";")[0].strip().lower()
    body = orjson.dumps(data) if content_type == "application/json" else data.encode()  # else text: bodies.ArtifactBody
    if media in INLINE_TEXT:
        served, disposition = "text/plain; charset=utf-8", "inline"
    elif media in INLINE_AS_IS:
        served, disposition = media, "inline"
    else:
        served, disposition = "application/octet-stream", "attachment"
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    headers = {
        **_ARTIFACT_HEADERS,
        "Content-Type": served,
        "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}",
    }
    return web.Response(body=body, headers=headers)
