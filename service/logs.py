"""Structured logs: one JSON object per line in production, a readable console format in development.

structlog renders every line, including the stdlib loggers' (aiohttp's, ours under
`logging.getLogger("jobledger...")`), through one ProcessorFormatter. A request's id, job id
and tenant are bound to its task's context, so every line logged while serving it carries them.
"""

import logging
import re
import sys
from uuid import uuid4

import orjson
import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from service import keys

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")
_access = structlog.get_logger("jobledger.access")


def configure(level: str, log_format: str) -> None:
    """Route structlog and every stdlib logger to stderr in `log_format`, at `level` and above."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_renderers(log_format)],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("transitions").setLevel(logging.WARNING)  # it logs every trigger at INFO


def _renderers(log_format: str) -> list:
    if log_format == "console":
        return [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    return [
        structlog.processors.format_exc_info,
        structlog.processors.EventRenamer("message"),
        structlog.processors.JSONRenderer(serializer=lambda event, **_: orjson.dumps(event, default=str).decode()),
    ]


def redact(url: str) -> str:
    """A database URL without its password, fit for a log line."""
    return _PASSWORD.sub(r"\1***@", url)


@web.middleware
async def request_context(request: web.Request, handler) -> web.StreamResponse:
    """Bind request_id, job_id and tenant to the log lines of this request (aiohttp runs each in its own task).

    The request id is the client's `X-Request-Id` if it is sane (1-128 URL-safe characters),
    else a new one; the same id goes into the metadata of the events the request appends.
    """
    given = request.headers.get("X-Request-Id", "")
    request[keys.request_id_key] = request_id = given if SANE_REQUEST_ID.fullmatch(given) else str(uuid4())
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)  # the tenant: once auth knows it
    if "id" in request.match_info:
        structlog.contextvars.bind_contextvars(job_id=request.match_info["id"])
    return await handler(request)


async def echo_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """on_response_prepare: every answer, WebSocket upgrades and errors included, names its request id."""
    if keys.request_id_key in request:  # not when aiohttp refused the request before any middleware
        response.headers["X-Request-Id"] = request[keys.request_id_key]


class AccessLogger(AbstractAccessLogger):
    """One structured line per request, with the request's bound context."""

    @property
    def enabled(self) -> bool:
        return logging.getLogger("jobledger.access").isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        _access.info(
            "request", method=request.method, path=request.path, status=response.status,
            duration_ms=round(time * 1000, 3), bytes=response.body_length, remote=request.remote,
        )
