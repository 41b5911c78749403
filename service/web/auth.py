"""API keys, roles and tenants: who is asking, and what they may do and see.

A key is `jl_<key id>_<secret>`; only its SHA-256 is stored (keys are random, so a slow
hash adds nothing). Every route names the action it performs (`requires`); a role is a
set of actions. A principal sees only its tenant's jobs, and with `types` only those
types: anything else answers as if it did not exist (404), so existence never leaks.

A bearer token that is not a key (`jl_...`) but a JWT (three dot-separated parts) is checked
by jobledger.web.tokens, when JWTs are configured; its claims give the tenant, role and user.
A principal with a `user` sees only the jobs that user created, and nothing tenant-wide.

Without `Authorization`, a service bound to loopback with `auth = auto` treats the caller
as the admin of tenant "default" (the embedded, no-configuration mode); any other bind,
or `auth = required`, demands a key.
"""

import contextlib
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import limits
from aiohttp import web

from jobledger.domain import errors
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import ApiKey
from jobledger.web import logs
from jobledger.application.jobs import DEFAULT_TENANT
from jobledger.application.tenant_limits import PerTenant

class Unauthorized(errors.JobServiceError):
    """An API key is required."""

    code = "unauthorized"


class Forbidden(errors.JobServiceError):
    """This key's role may not do that."""

    code = "forbidden"

    def __init__(self, message: str | None = None, *, role: str, action: str, fields: list[dict[str, str]] = ()):
        """`fields`: the request's fields that ask for what the key may not have (a job type)."""
        super().__init__(message, role=role, action=action, fields=list(fields))


class RateLimited(errors.JobServiceError):
    """Too many requests with this key; wait and try again."""

    code = "rate_limited"


Role = Literal["client", "worker", "auditor", "admin", "operator"]
ROLES: tuple[Role, ...] = ("client", "worker", "auditor", "admin", "operator")

#: action -> roles allowed to perform it
ACTIONS: dict[str, frozenset[str]] = {
    "create": frozenset({"client", "admin"}),
    "read": frozenset({"client", "worker", "auditor", "admin"}),
    "manage": frozenset({"client", "admin"}),  # cancel, retry
    "work": frozenset({"worker", "admin"}),  # claim, heartbeat, progress, phases, finish, artifacts
    "history": frozenset({"client", "auditor", "admin"}),  # one job's events and chain
    "log": frozenset({"auditor", "admin"}),  # the tenant's whole log
    "admin": frozenset({"admin"}),  # the tenant's job types
    # figures across every tenant (/metrics, /health's counts): the service's operators, who
    # see no tenant's jobs (a tenant's admin sees only its own tenant, so not these)
    "operate": frozenset({"operator"}),
}
PUBLIC = "public"
#: roles shown a failed attempt's whole error; clients see its code and message (README, Security)
DETAIL_ROLES = frozenset({"worker", "auditor", "admin"})


#: actions that reach past one user's jobs: refused (403) to a principal scoped to a user
TENANT_WIDE = frozenset({"log"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for."""

    key_id: str | None  # None: the open, loopback-only mode; a JWT's: `jwt:<user or subject>`
    role: str
    tenant: str
    types: tuple[str, ...] | None = None
    name: str | None = None  # the key's note (`keys create --name`), recorded beside its id
    user: str | None = None  # a JWT's user: sees only the jobs it created; None: the whole tenant
    expires_at: float | None = None  # a JWT's expiry (Unix time, leeway included): its sockets close then

    @property
    def from_token(self) -> bool:
        """Whether a JWT, not an API key, made this principal (it has no row in api_keys)."""
        return self.expires_at is not None

    @property
    def actor(self) -> str:
        """Who acts, as an event's metadata names it: `key:<id>`, or a JWT's `jwt:<user or subject>`."""
        return self.key_id if self.from_token else f"key:{self.key_id}"

    def sees(self, tenant: str, job_type: str, user: str | None) -> bool:
        return (
            tenant == self.tenant
            and (self.types is None or job_type in self.types)
            and (self.user is None or user == self.user)
        )

    def may(self, action: str) -> bool:
        if self.key_id is None:  # the open mode may do everything
            return True
        return self.role in ACTIONS[action] and not (self.user is not None and action in TENANT_WIDE)

    @property
    def sees_details(self) -> bool:
        """Whether this caller sees a failed attempt's whole error (traceback and all), not only
        its code and message (application.redaction)."""
        return self.role in DETAIL_ROLES or self.key_id is None

    @property
    def service_wide(self) -> bool:
        """Whether this caller may see figures across every tenant: an operator, or the open mode."""
        return self.may("operate")

    def check_type(self, job_type: str, field: str = "type") -> None:
        """Refuse (403) a job type this key is not given."""
        if self.types is not None and job_type not in self.types:
            raise Forbidden(
                f"{field}: this key may not use job type {job_type!r}", role=self.role, action="type",
                fields=[{"field": field, "reason": f"not one of this key's types: {', '.join(self.types)}"}],
            )


OPEN = Principal(None, "admin", DEFAULT_TENANT)
OPEN_ACTOR = "api"  #: the actor of the open mode's requests, which carry no key
#: roles whose `X-Actor` is recorded, as whom they act on behalf of (a worker pool names its
#: worker, an admin's tool its user); from any other role the header is refused (403)
ASSERTS_ACTOR = frozenset({"worker", "admin"})


def acting(principal: Principal, claimed: str | None) -> dict[str, str | None]:
    """Who acts, for an event's metadata: the authenticated key (`key:<id>` and its name), never
    a header; `claimed` (X-Actor) is kept apart, as `on_behalf_of`, for the roles that may assert it."""
    if principal.key_id is None:
        who: dict[str, str | None] = {"actor": OPEN_ACTOR}
    else:
        who = {"actor": principal.actor, "actor_name": principal.name}
    if claimed is not None:
        check_claimed_actor(principal)
        who["on_behalf_of"] = claimed
    return who


def check_claimed_actor(principal: Principal) -> None:
    """Refuse (403, naming the header) an X-Actor from a role that may not assert one."""
    if not (principal.key_id is None or principal.role in ASSERTS_ACTOR):
        reason = f"a {principal.role} key may not name whom it acts for; the key itself is recorded"
        raise Forbidden(
            f"X-Actor: {reason}", fields=[{"field": "X-Actor", "reason": reason}], role=principal.role, action="on_behalf_of"
        )


def check_whole_tenant(principal: Principal, action: str) -> None:
    """Refuse (403) what reaches past one user's jobs (the tenant's log, claims from its whole
    queue) to a principal scoped to a user."""
    if principal.user is not None:
        raise Forbidden(
            f"a token scoped to a user reaches only that user's jobs, one by one ({action})",
            role=principal.role, action=action,
        )


def requires(action: str, *, socket: bool = False) -> Callable:
    """Mark a route handler with the action it performs (and whether it is a WebSocket)."""
    if action != PUBLIC and action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")

    def mark(handler: Callable) -> Callable:
        handler.jobledger_action = action
        handler.jobledger_socket = socket
        return handler

    return mark


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(role: str, tenant: str, types: tuple[str, ...] | None, name: str | None, now: datetime) -> tuple[str, ApiKey]:
    """A fresh key (shown once) and the record that is stored for it."""
    key_id = secrets.token_hex(6)
    key = f"jl_{key_id}_{secrets.token_urlsafe(32)}"
    return key, ApiKey(key_id, hash_key(key), role, tenant, types, name, now)


class Authenticator:
    """Turns a bearer token into a Principal; caches lookups for `cache_seconds` (revocation delay)."""

    def __init__(
        self, stores: Stores, *, required: bool, cache_seconds: float, rate: PerTenant[str], cache_size: int = 10_000,
        tokens: Callable[[str], Awaitable["Principal"]] | None = None, is_token: Callable[[str], bool] = lambda _: False,
    ):
        """`tokens` checks a bearer token that `is_token` says is a JWT (jobledger.web.tokens), when JWTs are on."""
        self.stores = stores
        self.tokens = tokens
        self.is_token = is_token
        self.required = required
        self.cache_seconds = cache_seconds
        own = {tenant: limits.parse(given) for tenant, given in rate.own.items()}
        self.rate = PerTenant(limits.parse(rate.default), rate.setting, own)
        self._limiter = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())
        self._cache: dict[str, tuple[Principal | None, float]] = {}
        self._cache_size = cache_size
        self.sockets: dict[str, int] = {}  # open WebSockets per key id

    async def principal(self, token: str | None) -> Principal:
        """The principal of `token`; without one, OPEN unless keys are required. Raises Unauthorized."""
        if token is None:
            if self.required:
                raise Unauthorized("an API key is required: Authorization: Bearer <key>")
            return OPEN
        if self.is_token(token):
            if self.tokens is None:
                raise Unauthorized("JWT: this service accepts no JWTs (none is configured), only API keys")
            return await self.tokens(token)
        key_hash = hash_key(token)
        cached = self._cache.get(key_hash)
        if cached is not None and cached[1] > time.monotonic():
            principal = cached[0]
        else:
            principal = _principal(await self.stores.registry.key_by_hash(key_hash))
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[key_hash] = (principal, time.monotonic() + self.cache_seconds)
        if principal is None:
            raise Unauthorized("unknown or revoked API key")
        return principal

    def throttle(self, principal: Principal) -> None:
        """Count a request against its key's rate; raises RateLimited past it (the open mode is not limited)."""
        rate = self.rate.of(principal.tenant)
        if principal.key_id is None or self._limiter.hit(rate, principal.key_id):
            return
        reset_at, _ = self._limiter.get_window_stats(rate, principal.key_id)
        raise RateLimited(retry_after=max(1, round(reset_at - time.time() + 0.5)), limit=str(rate))


    @contextlib.contextmanager
    def socket_slot(self, principal: Principal, limit: int):
        """Hold one of the key's `limit` WebSockets while the block runs; RateLimited past it."""
        key_id = principal.key_id
        if key_id is None:
            yield
            return
        if self.sockets.get(key_id, 0) >= limit:
            raise RateLimited(f"this key has {limit} WebSockets open already", retry_after=1, limit=f"{limit} sockets")
        self.sockets[key_id] = self.sockets.get(key_id, 0) + 1
        try:
            yield
        finally:
            self.sockets[key_id] -= 1
            if not self.sockets[key_id]:
                del self.sockets[key_id]


def _principal(key: ApiKey | None) -> Principal | None:
    if key is None or key.revoked_at is not None:
        return None
    return Principal(key.key_id, key.role, key.tenant, key.types, key.name)


def bearer(request: web.Request) -> str | None:
    """The token of an `Authorization: Bearer` header; a malformed header is refused, not ignored."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    # keys are printable ASCII; aiohttp hands other bytes over as surrogates, which cannot even be hashed
    if scheme.lower() != "bearer" or not token.strip() or not (token.isascii() and token.isprintable()):
        raise Unauthorized("Authorization: expected 'Bearer <key>'")
    return token.strip()


authenticator_key = web.AppKey("authenticator", Authenticator)
principal_key = web.RequestKey("principal", Principal | None)  # None: a WebSocket that sends its key in a message
action_key = web.RequestKey("action", str)


def _action(request: web.Request) -> tuple[str, bool]:
    """The action a request's route performs, and whether it is a WebSocket route."""
    route = request.match_info.route
    if (
        request.match_info.http_exception is not None  # 404, 405
        or isinstance(route.resource, web.StaticResource)
        or request.method == "OPTIONS"  # CORS preflight: answered by aiohttp-cors, which runs nothing
    ):
        return PUBLIC, False
    handler = route.handler
    return getattr(handler, "jobledger_action", "admin"), getattr(handler, "jobledger_socket", False)


async def admit(request: web.Request) -> None:
    """Authenticate, check the route's action against the role, and count the request against the key's rate.

    A WebSocket without an Authorization header, where keys are required, is let through with
    no principal: its handler waits for a first `auth` message (see `socket_principal`).
    """
    action, socket = _action(request)
    if action == PUBLIC:
        return
    authenticator = request.app[authenticator_key]
    token = bearer(request)
    if token is None and socket and authenticator.required:
        request[principal_key] = None
        request[action_key] = action
        return
    principal = await authenticator.principal(token)
    authorize(principal, action)
    if "X-Actor" in request.headers:  # refused on every route, not only those that record events
        check_claimed_actor(principal)
    authenticator.throttle(principal)
    request[principal_key] = principal
    logs.bind(tenant=principal.tenant)


def authorize(principal: Principal, action: str) -> None:
    if not principal.may(action) and principal.role in ACTIONS[action]:  # refused only as scoped to a user
        check_whole_tenant(principal, action)
    if not principal.may(action):
        raise Forbidden(f"the role {principal.role} may not do this ({action})", role=principal.role, action=action)


def principal_of(request: web.Request) -> Principal:
    return request[principal_key]
