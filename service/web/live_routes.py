"""WebSocket routes: `/jobs/{id}/ws` follows one job, `/ws` follows what the client subscribes to.

Resume without gap or duplicate: a socket is registered with the hub (which holds its live
events back) *before* the missed events are read from the log; the log is replayed up to the
hub's position at registration, and the held-back events (all past that position) follow.
"""

import asyncio
import contextlib
from typing import Literal
from uuid import UUID

import orjson
from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobledger.domain import errors
from jobledger.domain.job import Job
from jobledger.eventlog import metadata as metadata_index
from jobledger.application import bodies, json_types
from jobledger.web import auth, handling, jwks, keys, live, schemas
from jobledger.web import errors as web_errors
from jobledger.application import live_messages, redaction
from jobledger.application.snapshot import Snapshot

routes = web.RouteTableDef()
MAX_SUBSCRIPTION_ITEMS = 10_000
_WARMED = 100  # jobs of a subscription whose current state is read for the hub when it is made


MAX_POSITION = bodies.MAX_INT64


class AfterQuery(bodies.Body):
    after: int | None = Field(None, ge=0, le=MAX_POSITION)


class AuthMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=8192)  # an API key, or a JWT (often over 1 KB)


class ClientMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["subscribe", "unsubscribe", "ping"]
    jobs: list[UUID] = Field(default_factory=list, max_length=MAX_SUBSCRIPTION_ITEMS)
    job_types: list[bodies.Name] = Field(default_factory=list, max_length=MAX_SUBSCRIPTION_ITEMS)
    #: the jobs whose metadata holds every one of these values (matched as GET /jobs?metadata.<key>= matches)
    metadata: json_types.MetadataFilter = Field(default_factory=dict)
    all: bool = False
    after: int | None = Field(None, ge=0, le=MAX_POSITION)

    def filters(self) -> list[metadata_index.Pairs]:
        return [frozenset(self.metadata.items())] if self.metadata else []


async def hub_context(app: web.Application):
    """One hub per instance, following the app's LogFollower."""
    app[keys.hub_key] = hub = live.Hub(app[keys.stores_key], app[keys.follower_key], live.LiveSettings())
    hub.sockets_per_key = app[keys.settings_key].per_tenant("ws_max_sockets_per_key", hub.settings.max_sockets_per_key)
    hub.estimates, hub.now = app[keys.estimates_key], lambda: app[keys.jobs_key].clock()
    yield
    await hub.close()


async def close_sockets(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for handlers: close every socket with GOING_AWAY."""
    if keys.hub_key in app:
        await app[keys.hub_key].close()


def _socket(hub: live.Hub) -> web.WebSocketResponse:
    # compress=False: every socket is sent the same pre-framed bytes (see live.text_frame)
    return web.WebSocketResponse(
        heartbeat=hub.settings.heartbeat, compress=False, max_msg_size=hub.settings.max_message_bytes
    )


@routes.get("/jobs/{id}/ws")
@auth.requires("read", socket=True)
async def job_socket(request: web.Request) -> web.WebSocketResponse:
    """The job document, then each of its events as committed; closes (1000) after a terminal event."""
    job_id = handling.job_id(request)
    after = schemas.parse_query(AfterQuery, request.query).after
    hub = request.app[keys.hub_key]
    ws = _socket(hub)
    async with _authenticated(ws, request) as principal:
        listener = hub.listener(ws, request, principal, close_on_terminal=True)
        try:
            listener.buffer()
            registered = hub.position
            hub.watch(listener, [job_id], (), False, registered if after is None else after)
            # JobNotFound: 404 before the upgrade (or close 4004 after an `auth` message)
            snapshot = await request.app[keys.jobs_key].load(job_id, principal)
            if not ws.prepared:
                await ws.prepare(request)
            with contextlib.suppress(ConnectionError):
                await _start(listener, snapshot, registered, after)
                del snapshot  # an idle socket keeps no document
                await _serve(ws, listener)
        finally:
            hub.forget(listener)
    return ws


#: close codes of a socket refused after its upgrade (before it, the same errors answer HTTP 401/403/404/429)
CLOSE_CODES = {
    auth.Unauthorized: 4001, auth.Forbidden: 4003, errors.JobNotFound: 4004, auth.RateLimited: 4029,
    jwks.KeysUnavailable: 1013,  # try again later
}


@contextlib.asynccontextmanager
async def _authenticated(ws: web.WebSocketResponse, request: web.Request):
    """The socket's principal, from its Authorization header or else its first message
    `{"type": "auth", "token": ...}` (sent within `ws_auth_timeout`); holds one of its key's sockets.

    Errors before the upgrade propagate (HTTP status); after it, an `error` message says which
    (as the HTTP answer would), then the socket closes with CLOSE_CODES.
    """
    authenticator = request.app[auth.authenticator_key]
    hub = request.app[keys.hub_key]
    settings = hub.settings
    try:
        principal = request[auth.principal_key]
        if principal is None:
            await ws.prepare(request)
            principal = await _auth_message(ws, authenticator, settings.auth_timeout)
            auth.authorize(principal, request[auth.action_key])
            await ws.send_str(orjson.dumps({"type": "authenticated", "role": principal.role, "tenant": principal.tenant}).decode())
        with authenticator.socket_slot(principal, hub.sockets_per_key.of(principal.tenant)):
            yield principal
    except tuple(CLOSE_CODES) as exc:
        if not ws.prepared:
            raise
        with contextlib.suppress(ConnectionError):
            await ws.send_str(orjson.dumps({"type": "error", "error": exc.as_json()}).decode())
        await ws.close(code=CLOSE_CODES[type(exc)], message=exc.message.encode()[:120])
        raise web_errors.Answered(ws, f"closed {CLOSE_CODES[type(exc)]}: {exc.message}") from None


async def _auth_message(ws: web.WebSocketResponse, authenticator: auth.Authenticator, timeout: float) -> auth.Principal:
    try:
        async with asyncio.timeout(timeout):
            msg = await ws.receive()
    except TimeoutError:
        raise auth.Unauthorized("send {\"type\": \"auth\", \"token\": ...} first") from None
    try:
        first = AuthMessage.model_validate_json(msg.data) if msg.type == WSMsgType.TEXT else None
    except ValidationError:
        first = None
    if first is None:
        raise auth.Unauthorized("the first message must be {\"type\": \"auth\", \"token\": ...}")
    return await authenticator.principal(first.token)


async def _start(listener: live.Listener, snapshot: Snapshot, registered: int, after: int | None) -> None:
    """Send the job document, replay what `after` asks for, and go live."""
    hub = listener.hub
    hub.remember(snapshot.job)
    document = snapshot.document if listener.scope.sees_details else redaction.document(snapshot.document)
    document["estimate"] = await hub.estimate_now(snapshot.job)
    first = {"type": "job", "position": snapshot.position, "job": document}
    await listener.ws.send_frame(orjson.dumps(first), WSMsgType.TEXT)
    listener.note(snapshot.position, snapshot.job.status in live_messages.TERMINAL)
    if after is None:
        # The status row is written with its events, so it already holds every event of this
        # job up to `registered`: nothing to replay; held-back events it covers are skipped.
        listener.go_live(max(snapshot.position, registered))
    else:  # the log holds everything up to the document's position too: replay that far
        await _replay(hub, listener, after, max(snapshot.position, registered), jobs=[snapshot.job.id])


@routes.get("/ws")
@auth.requires("read", socket=True)
async def live_socket(request: web.Request) -> web.WebSocketResponse:
    """Subscribe to jobs, job types or everything; unsubscribe; ping."""
    hub = request.app[keys.hub_key]
    await hub.stores.log.head()  # a store out of reach is a 503 before the upgrade, not a socket that hears nothing
    ws = _socket(hub)
    async with _authenticated(ws, request) as principal:
        if not ws.prepared:
            await ws.prepare(request)
        listener = hub.listener(ws, request, principal)
        try:
            with contextlib.suppress(ConnectionError):
                await _serve(ws, listener, request.app[auth.authenticator_key])
        finally:
            hub.forget(listener)
    return ws


async def _serve(ws: web.WebSocketResponse, listener: live.Listener, authenticator: auth.Authenticator | None = None) -> None:
    async for msg in ws:
        if listener.closing:
            break
        if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            continue
        try:
            request = ClientMessage.model_validate_json(msg.data)
        except ValidationError as exc:
            if authenticator is not None and await _late_auth(listener, authenticator, msg.data):
                continue
            _send(listener, {"type": "error", "error": bodies.invalid(exc, "message").as_json()})
            continue
        await _answer(listener, request)


async def _late_auth(listener: live.Listener, authenticator: auth.Authenticator, data: str | bytes) -> bool:
    """An `auth` message on a socket that needed none (the open mode): the key scopes the socket,
    as it would a request. Only before the socket subscribes to anything."""
    try:
        token = AuthMessage.model_validate_json(data).token
    except ValidationError:
        return False
    if listener.scope is not auth.OPEN or listener.jobs or listener.types or listener.all_from is not None:
        _send(listener, _error("type", "auth is accepted only as the first message"))
        return True
    try:
        principal = await authenticator.principal(token)
    except auth.Unauthorized as exc:
        _send(listener, {"type": "error", "error": exc.as_json()})
        return True
    listener.scope = principal
    _send(listener, {"type": "authenticated", "role": principal.role, "tenant": principal.tenant})
    return True


async def _answer(listener: live.Listener, request: ClientMessage) -> None:
    if request.type == "ping":
        _send(listener, {"type": "pong"})
    elif listener.close_on_terminal:
        _send(listener, _error("type", "this socket follows one job: subscribe on /ws"))
    elif not (request.jobs or request.job_types or request.metadata or request.all):
        _send(listener, _error("jobs", "give jobs, job_types, metadata or all: true"))
    elif request.type == "unsubscribe":
        if request.after is not None:
            _send(listener, _error("after", "unsubscribe takes no after"))
            return
        listener.hub.unwatch(listener, request.jobs, request.job_types, request.all, request.filters())
        _send(listener, {"type": "unsubscribed", **_what(request)})
    else:
        await _subscribe(listener, request)


async def _subscribe(listener: live.Listener, request: ClientMessage) -> None:
    hub = listener.hub
    limit = hub.settings.max_subscriptions
    following = (
        len(listener.jobs.keys() | set(request.jobs)) + len(listener.types.keys() | set(request.job_types))
        + len(listener.metadata.keys() | set(request.filters()))
    )
    if following > limit:
        _send(listener, {"type": "error", "error": live.TooManySubscriptions(limit=limit, requested=following).as_json()})
        return
    # Without `after`: from the log's head when the request arrived (events the hub has not reached yet included).
    after = request.after if request.after is not None else await live_messages.retrying(hub.stores.log.head)
    before = _Subscriptions(listener)
    listener.buffer()
    registered = hub.position
    hub.watch(listener, request.jobs, request.job_types, request.all, after, request.filters())
    jobs = None if request.all or request.job_types or request.metadata else request.jobs
    for job in await live_messages.current_states(hub.stores, request.jobs[:_WARMED]):
        hub.remember(job)  # as a job's own socket does: the hub folds their next events without a read each
    await _replay(hub, listener, after, registered, jobs, wanted=_Filter(request), before=before)
    _send(listener, {"type": "subscribed", **_what(request), "position": max(after, registered)})


async def _replay(hub, listener, after: int, up_to: int, jobs=None, wanted=None, before=None) -> None:
    """Send the events in (after, up_to] from the log, then the held-back live events."""
    if after >= up_to:
        listener.go_live(after)
        return
    async for event, job in live_messages.history(hub.stores, after, up_to, jobs):
        if listener.closing or listener.ws.closed:
            return
        if wanted is not None and not wanted.matches(job):
            continue
        if not listener.scope.sees(job.tenant, job.type, job.user):
            continue
        if before is not None and before.sent_already(job, event.position):
            continue
        estimate = hub.estimate(job, event.recorded_at)
        await listener.ws.send_frame(live_messages.message(event, job, listener.scope.sees_details, estimate), WSMsgType.TEXT)
        listener.note(event.position, job.status in live_messages.TERMINAL)
        if listener.closing:
            return
    listener.go_live(up_to)


class _Filter:
    def __init__(self, request: ClientMessage):
        self.jobs, self.types, self.all, self.filters = set(request.jobs), set(request.job_types), request.all, request.filters()

    def matches(self, job: Job) -> bool:
        return self.all or job.id in self.jobs or job.type in self.types or _holds(job, self.filters)


class _Subscriptions:
    """What a socket listened to before a new subscription, to skip what it was already sent."""

    def __init__(self, listener: live.Listener):
        self.jobs, self.types, self.all_from = dict(listener.jobs), dict(listener.types), listener.all_from
        self.filters = dict(listener.metadata)

    def sent_already(self, job: Job, position: int) -> bool:
        if self.all_from is not None and position > self.all_from:
            return True
        if position > self.jobs.get(job.id, position) or position > self.types.get(job.type, position):
            return True
        return _holds(job, [f for f, since in self.filters.items() if position > since])


def _holds(job: Job, filters: list[metadata_index.Pairs]) -> bool:
    """Whether the job's metadata holds one of these filters' pairs."""
    if not filters or not job.metadata:
        return False
    pairs = metadata_index.pairs(job.metadata)
    return any(f <= pairs for f in filters)


def _what(request: ClientMessage) -> dict:
    what = {"jobs": [str(j) for j in request.jobs], "job_types": request.job_types, "all": request.all}
    return {**what, "metadata": request.metadata} if request.metadata else what


def _error(field: str, reason: str) -> dict:
    return {"type": "error", "error": errors.InvalidCommand(fields=[{"field": field, "reason": reason}]).as_json()}


def _send(listener: live.Listener, body: dict) -> None:
    listener.write(live.text_frame(orjson.dumps(body)))
