"""What a browser may make the service do: the host names it answers, the origins that may change
state or open a WebSocket, and the request bodies it reads (JSON, not encoded, within a time).

A page on any site can send a request to a service on the developer's loopback; one that
rebinds its own name to 127.0.0.1 even reads the answers. Three checks close that:

- Host: the open mode answers only its loopback names and `allowed_hosts` (a rebound name
  is refused); with keys, only those if `allowed_hosts` is set, else any.
- Origin: a request that changes state (any method but GET, HEAD, OPTIONS) or opens a
  WebSocket, from a browser on another origin, is refused unless `cors_origins` names it.
  The service's own origin is an http(s) origin whose host and port are the request's `Host`
  as it arrived (the proxy in deploy/nginx.conf passes the client's Host through).
  Requests without `Origin` (curl, SDKs, servers) are not browsers' and pass.
- Bodies: JSON only, so a cross-site form or `text/plain` fetch cannot send one without a
  CORS preflight; no Content-Encoding (a gzip bomb is never expanded); read within
  `body_timeout_seconds`.
"""

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from jobledger.domain import errors
from jobledger.web.config import Settings, hostname, is_loopback

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class HostNotAllowed(errors.JobServiceError):
    """This service does not answer this host name."""

    code = "host_not_allowed"


class CrossOrigin(errors.JobServiceError):
    """Requests from this origin may not change anything here."""

    code = "cross_origin"


class UnsupportedMediaType(errors.JobServiceError):
    """The request body must be JSON (Content-Type: application/json)."""

    code = "unsupported_media_type"


class BodyTimeout(errors.JobServiceError):
    """The request body did not arrive in time."""

    code = "request_timeout"


@dataclass(frozen=True, slots=True)
class Policy:
    """The checks of one service, built once from its settings."""

    hosts: frozenset[str] | None  #: host names answered (lower case, no port); None: any
    origins: frozenset[str]  #: other origins allowed, lower case
    any_origin: bool
    body_timeout: float

    @classmethod
    def of(cls, settings: Settings) -> "Policy":
        listed = frozenset(filter(None, map(hostname, settings.allowed_hosts)))
        bound = {settings.host.strip("[]").lower()} if is_loopback(settings.host.strip("[]")) else set()
        answered = LOOPBACK_NAMES | bound | listed
        hosts = answered if not settings.auth_required or listed else None
        origins = frozenset(o.lower().rstrip("/") for o in settings.cors_origins)
        return cls(hosts, origins - {"*"}, "*" in origins, settings.body_timeout_seconds)


policy_key = web.AppKey("guard_policy", Policy)


def setup(app: web.Application, settings: Settings) -> None:
    app[policy_key] = Policy.of(settings)


def check(request: web.Request) -> None:
    """Refuse a foreign Host, and a state change or WebSocket from a foreign Origin (see the module's doc)."""
    policy = request.app[policy_key]
    host = request.headers.get(hdrs.HOST)
    if policy.hosts is not None and host is not None and hostname(host) not in policy.hosts:
        raise HostNotAllowed(
            f"Host: this service does not answer {host!r}; add it to JOBLEDGER_ALLOWED_HOSTS",
            fields=[{"field": "Host", "reason": "not localhost, 127.0.0.1, [::1] or an allowed host"}],
        )
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None or (request.method in SAFE_METHODS and not _upgrade(request)):
        return
    if policy.any_origin or origin.lower().rstrip("/") in policy.origins or _same_origin(origin, host):
        return
    raise CrossOrigin(
        f"Origin: {origin!r} may not change anything here or open a WebSocket; add it to JOBLEDGER_CORS_ORIGINS",
        fields=[{"field": "Origin", "reason": "neither this service's own origin nor an allowed one"}],
    )


def _upgrade(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


def _same_origin(origin: str, host: str | None) -> bool:
    """Whether `origin` is the service's own: http(s), with exactly the host and port the request came to."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return host is not None and parts.scheme in ("http", "https") and parts.netloc.lower() == host.strip().lower()


async def read_json(request: web.Request) -> bytes:
    """The request's body, refused (415) unless JSON-typed and not encoded, and read within the time allowed (408).

    An empty body needs no Content-Type (it means `{}`: a command without options); any other must be JSON.
    """
    _check_encoding(request.headers.get(hdrs.CONTENT_ENCODING))
    if request.body_exists:
        _check_type(request.headers.get(hdrs.CONTENT_TYPE))
    try:
        async with asyncio.timeout(request.app[policy_key].body_timeout):
            return await request.read()
    except TimeoutError:
        _close_when_answered(request)
        raise BodyTimeout(
            f"the body did not arrive within {request.app[policy_key].body_timeout:g} s",
            limit_seconds=request.app[policy_key].body_timeout,
        ) from None


def _check_encoding(encoding: str | None) -> None:
    if encoding is not None and encoding.strip().lower() != "identity":
        raise UnsupportedMediaType(
            f"Content-Encoding: {encoding!r} is not accepted; send the body unencoded",
            fields=[{"field": "Content-Encoding", "reason": "request bodies are not decoded: send none"}],
        )


def is_json(content_type: str) -> bool:
    """Whether a Content-Type header names JSON: application/json or application/<x>+json, in UTF-8."""
    media, *params = (part.strip().lower() for part in content_type.split(";"))
    kind, _, subtype = media.partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        return False
    charsets = [value.strip('"') for name, _, value in (p.partition("=") for p in params) if name.strip() == "charset"]
    return all(charset in ("utf-8", "utf8") for charset in charsets)


def _check_type(content_type: str | None) -> None:
    if content_type is None or not is_json(content_type):
        got = "none" if content_type is None else repr(content_type)
        raise UnsupportedMediaType(
            f"Content-Type: a body must be application/json (in UTF-8), not {got}",
            fields=[{"field": "Content-Type", "reason": f"expected application/json, got {got}"}],
        )


def _close_when_answered(request: web.Request) -> None:
    """Close the connection once the answer is sent: the rest of a body that is late is not waited for
    (aiohttp would keep reading it, for up to 10 s more, to reuse the connection)."""
    transport = request.transport
    task = asyncio.current_task()
    if transport is not None and task is not None:  # the task that runs the handler also sends its answer
        task.add_done_callback(lambda _: transport.close())
