"""Errors -> HTTP: one table, and the answer the middleware (jobledger.web.app) gives; routes never `try`."""

import logging
from http import HTTPStatus

import orjson
from aiohttp import web

from jobledger.domain import errors
from jobledger.web import auth, guards, jwks, keys

log = logging.getLogger("jobledger")

STATUS = {
    errors.JobNotFound: 404,
    errors.PhaseNotFound: 404,
    errors.ArtifactNotFound: 404,
    errors.TypeNotFound: 404,
    errors.ScheduleNotFound: 404,
    errors.ScheduleExists: 409,
    errors.LimitReached: 409,
    errors.WebhookNotFound: 404,
    errors.DeliveryNotFound: 404,
    errors.LeafNotFound: 404,
    errors.ProofNotFound: 404,
    errors.TreeInconsistent: 500,
    errors.LeaseLost: 409,
    errors.IllegalTransition: 409,
    errors.VersionConflict: 409,
    errors.InvalidCommand: 400,
    errors.IdempotencyKeyReused: 422,
    errors.TargetRefused: 422,
    errors.StoreUnavailable: 503,
    auth.Unauthorized: 401,
    auth.Forbidden: 403,
    auth.RateLimited: 429,
    jwks.KeysUnavailable: 503,
    guards.HostNotAllowed: 403,
    guards.CrossOrigin: 403,
    guards.BodyTimeout: 408,
    guards.UnsupportedMediaType: 415,
}

CLIENT_CLOSED = 499  #: the client hung up before its answer (nginx's code): logged and counted, never sent

HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


class Answered(Exception):
    """The handler has answered already (a WebSocket refused after its upgrade, closed with a code)."""

    def __init__(self, response: web.StreamResponse, reason: str):
        super().__init__(reason)
        self.response = response


def error_response(status: int, code: str, message: str, details: dict | None = None, **headers: str) -> web.Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def answer(request: web.Request, exc: Exception) -> web.Response:
    """The response for an exception a handler raised; call it in the `except` block that caught it.

    An HTTPException below 400 (a redirect) is raised again for aiohttp to send. Anything
    unexpected is logged with its traceback and answered 500, without it. What the client
    did (hung up, or had its WebSocket refused after the upgrade) is logged at info: not a 500.
    """
    if isinstance(exc, Answered):
        log.info("%s %s refused after the upgrade: %s", request.method, request.path, exc)
        return exc.response
    if isinstance(exc, ConnectionError) and _client_gone(request):  # not the database's: that is ours
        log.info("%s %s: the client closed the connection (%s)", request.method, request.path, exc)
        return error_response(CLIENT_CLOSED, "client_closed", "the client closed the connection")
    if isinstance(exc, errors.StoreUnavailable):  # the client is told only to try again; the log says why
        log.warning("%s %s answered 503: %s", request.method, request.path, exc)
    if isinstance(exc, errors.JobServiceError):
        status = STATUS.get(type(exc), 400)
        return error_response(status, exc.code, exc.message, exc.details, **_error_headers(status, exc))
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        details = {"limit_bytes": request.app[keys.settings_key].max_body_bytes} if exc.status == 413 else {}
        code = HTTP_CODES.get(exc.status, "http_error")
        return error_response(exc.status, code, _http_message(exc), details, **_allow_header(exc))
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "internal server error")


def _client_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


def _http_message(exc: web.HTTPException) -> str:
    """aiohttp's reason in our style: its stock phrase ("Method Not Allowed") in lower case."""
    if exc.reason == HTTPStatus(exc.status).phrase:
        return exc.reason.lower()
    return errors.sentence(exc.reason)


def _error_headers(status: int, exc: errors.JobServiceError) -> dict[str, str]:
    if status == 401:
        return {"WWW-Authenticate": 'Bearer realm="jobledger"'}
    if status in (429, 503):
        return {"Retry-After": str(exc.details.get("retry_after", 1))}
    return {}


def _allow_header(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}
