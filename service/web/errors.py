"""Errors -> HTTP: one table, and the answer the middleware (jobledger.web.app) gives; routes never `try`."""

import logging

import orjson
from aiohttp import web

from jobledger.domain import errors
from jobledger.web import auth, keys

log = logging.getLogger("jobledger")

STATUS = {
    errors.JobNotFound: 404,
    errors.PhaseNotFound: 404,
    errors.ArtifactNotFound: 404,
    errors.TypeNotFound: 404,
    errors.LeaseLost: 409,
    errors.IllegalTransition: 409,
    errors.VersionConflict: 409,
    errors.InvalidCommand: 400,
    errors.IdempotencyKeyReused: 422,
    errors.StoreUnavailable: 503,
    auth.Unauthorized: 401,
    auth.Forbidden: 403,
    auth.RateLimited: 429,
}

HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(status: int, code: str, message: str, details: dict | None = None, **headers: str) -> web.Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def answer(request: web.Request, exc: Exception) -> web.Response:
    """The response for an exception a handler raised; call it in the `except` block that caught it.

    An HTTPException below 400 (a redirect) is raised again for aiohttp to send. Anything
    unexpected is logged with its traceback and answered 500, without it.
    """
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
        return error_response(exc.status, code, exc.reason, details, **_allow_header(exc))
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "internal server error")


def _error_headers(status: int, exc: errors.JobServiceError) -> dict[str, str]:
    if status == 401:
        return {"WWW-Authenticate": 'Bearer realm="jobledger"'}
    if status in (429, 503):
        return {"Retry-After": str(exc.details.get("retry_after", 1))}
    return {}


def _allow_header(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}
