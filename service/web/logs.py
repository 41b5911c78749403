"""Structured logs: one JSON object per line in production, a readable console format in development.

structlog renders every line, including the stdlib loggers' (aiohttp's, ours under
`logging.getLogger("jobledger...")`), through one ProcessorFormatter. A request's id, job id
and tenant are bound to its task's context, so every line logged while serving it carries them.
"""

import contextvars
import logging
import os
import re
import sys
import threading

import orjson
import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError

from jobledger.web import keys

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")
_access = structlog.get_logger("jobledger.access")
_RANDOM_IDS = 256  # request ids drawn per os.urandom call
# One dict per request, set once; lines read it only when they are logged (see merge_request_context).
_request_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "jobledger_request_context", default=None
)


def configure(level: str, log_format: str) -> None:
    """Route structlog and every stdlib logger to stderr in `log_format`, at `level` and above."""
    shared = [
        structlog.contextvars.merge_contextvars,
        merge_request_context,
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
    server = logging.getLogger("aiohttp.server")
    server.filters[:] = [f for f in server.filters if not isinstance(f, MalformedRequests)]
    server.addFilter(MalformedRequests())


class MalformedRequests(logging.Filter):
    """aiohttp answers a request it cannot parse (bad request line or headers) 400 itself, and logs
    it as an error with a traceback: it is the client's doing, so make it one info line without one."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError) or record.levelno <= logging.INFO:
            return True  # at debug (the first request of a connection): as aiohttp logs it
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.msg, record.args = "refused a malformed request from %s: %s %s", (remote, exc.code, exc.message)
        record.exc_info, record.exc_text = None, None
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)


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


def request_context(request: web.Request) -> None:
    """Give the request its id, and bind request_id and job_id to its log lines (aiohttp runs each in its own task).

    The request id is the client's `X-Request-Id` if it is sane (1-128 URL-safe characters),
    else a new one; the same id goes into the metadata of the events the request appends.
    """
    given = request.headers.get("X-Request-Id", "")
    request[keys.request_id_key] = request_id = given if SANE_REQUEST_ID.fullmatch(given) else new_request_id()
    context = {"request_id": request_id}  # the tenant: once auth knows it
    job_id = request.match_info.get("id")
    if job_id is not None:
        context["job_id"] = job_id
    _request_context.set(context)


def bind(**values: str) -> None:
    """Add `values` to the log lines of the request being served (nothing outside a request)."""
    context = _request_context.get()
    if context is not None:
        context.update(values)


def merge_request_context(_logger, _method: str, event_dict: dict) -> dict:
    """Processor: the serving request's context, where the line does not say otherwise (as
    structlog.contextvars.merge_contextvars). Cheaper than binding structlog's context
    variables on every request, most of which log nothing (at WARNING, none)."""
    for key, value in (_request_context.get() or {}).items():
        event_dict.setdefault(key, value)
    return event_dict


def _random_ids():
    while True:
        pool = os.urandom(16 * _RANDOM_IDS)
        for start in range(0, len(pool), 16):
            raw = bytearray(pool[start : start + 16])
            raw[6] = raw[6] & 0x0F | 0x40  # version 4
            raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
            digits = raw.hex()
            yield f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


_new_ids = _random_ids()
_new_ids_lock = threading.Lock()  # a generator refuses two threads at once


def new_request_id() -> str:
    """A random UUID (version 4) as text, like str(uuid.uuid4()): one system call per 256 of them, not each."""
    with _new_ids_lock:
        return next(_new_ids)


def echo_request_id(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Every answer, WebSocket upgrades and errors included, names its request id (see headers.setup)."""
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
