"""Sign-in with the application's identity: JWTs from its identity provider, as credentials.

A token is verified against keys the configuration gives, never keys or algorithms the
token brings: its `alg` must be one of the configured algorithms, and the key that checks it
must be of that algorithm's type (an RSA key for RS256, a P-256 key for ES256, an Ed25519 key
for EdDSA, the shared secret for HS256). So `alg: none` is refused, and so is the
algorithm-confusion attack (an HS256 token keyed with the RSA public key's text): HS256 is
only ever checked with the configured secret. `iss`, `aud` and `exp` are required and
checked, with `leeway` seconds of clock skew.

The claims then say who asks: the tenant (required), the role (or the default role) and the
user. A token with a user sees only that user's jobs (jobledger.web.auth.Principal.sees).
"""

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import jwt
from aiohttp import web

from jobledger.web import auth, jwks, keys
from jobledger.web.config import Settings

MAX_NAME = 200  #: characters in a tenant or user name taken from a claim
_HS256 = "HS256"
_MOST_VERIFIED = 10_000  #: tokens kept verified; past it the cache starts again


def _refused(reason: str) -> auth.Unauthorized:
    return auth.Unauthorized(f"JWT: {reason}")


def looks_like_jwt(token: str) -> bool:
    """Whether a bearer token has a JWT's form (three dot-separated parts); API keys start with `jl_`."""
    return not token.startswith("jl_") and token.count(".") == 2


class Verifier:
    """Checks a JWT and turns its claims into a Principal."""

    def __init__(self, settings: Settings, key_set: jwks.KeySet | None):
        self.settings = settings
        self.keys = key_set
        self.secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret is not None else None
        offered = {*jwks.KEY_TYPES} if key_set is not None else set()
        if self.secret is not None:
            offered.add(_HS256)
        wanted = settings.jwt_algorithms
        self.algorithms = frozenset(offered if wanted is None else offered & set(wanted))
        self._cache_seconds = settings.auth_cache_seconds
        self._verified: dict[str, tuple[auth.Principal, float]] = {}  # token -> its principal, until (monotonic)

    async def principal(self, token: str) -> auth.Principal:
        """The principal of a valid token; Unauthorized, naming the reason, for any other.

        A token verified is taken again without its checks for JOBLEDGER_AUTH_CACHE_SECONDS,
        and never past its expiry: verifying costs 200 µs or more (bench/jwt_overhead.py), a
        client sends the same token with every call, and a retired signing key stops working
        within the same delay as a revoked API key. Only tokens that passed are kept."""
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        key, alg = await self._key(token)
        principal = self._principal(self._claims(token, key, alg))
        if self._cache_seconds > 0:
            if len(self._verified) >= _MOST_VERIFIED:
                self._verified.clear()
            until = min(self._cache_seconds, principal.expires_at - time.time())
            self._verified[token] = (principal, time.monotonic() + until)
        return principal

    async def _key(self, token: str) -> tuple[Any, str]:
        """The key that must have signed `token`, and the algorithm it is checked with."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise _refused(f"malformed token: {exc}") from None
        alg = header.get("alg")
        if alg not in self.algorithms:
            accepted = ", ".join(sorted(self.algorithms)) or "none configured"
            raise _refused(f"algorithm {alg!r} is not accepted (accepted: {accepted})")
        if alg == _HS256:
            return self.secret, alg
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _refused("kid: expected a string")
        key = await self.keys.key(kid, alg)
        if key is None:
            raise _refused(f"no signing key with kid {kid!r}" if kid is not None else "the token names no kid")
        if not jwks.fits(key, alg):
            raise _refused(f"the key {kid!r} is not a key for {alg}")
        return key.public, alg

    def _claims(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        settings = self.settings
        try:
            return jwt.decode(
                token, key, algorithms=[alg],
                audience=settings.jwt_audience, issuer=settings.jwt_issuer, leeway=settings.jwt_leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            raise _refused(str(exc) or type(exc).__name__) from None

    def _principal(self, claims: Mapping[str, Any]) -> auth.Principal:
        settings = self.settings
        tenant = _name(claims, settings.jwt_tenant_claim)
        if tenant is None:
            raise _refused(f"the claim {settings.jwt_tenant_claim!r} (the tenant) is missing")
        role = claims.get(settings.jwt_role_claim, settings.jwt_default_role)
        if role is None:
            raise _refused(f"the claim {settings.jwt_role_claim!r} (the role) is missing")
        if role not in auth.ROLES:
            raise _refused(f"{settings.jwt_role_claim}: {role!r} is not one of {', '.join(auth.ROLES)}")
        user = None
        if settings.jwt_user_claim:
            user = _name(claims, settings.jwt_user_claim)
            if user is None:
                raise _refused(f"the claim {settings.jwt_user_claim!r} (the user) is missing")
        subject = user or _name(claims, "sub") or tenant
        expires_at = float(claims["exp"]) + settings.jwt_leeway_seconds
        return auth.Principal(f"jwt:{subject}", role, tenant, user=user, expires_at=expires_at)


def _name(claims: Mapping[str, Any], claim: str) -> str | None:
    """A tenant or user name from `claim`: a non-empty string of printable characters (a number is
    taken as its digits); None if absent. Anything else is refused, naming the claim."""
    value = claims.get(claim)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > MAX_NAME or not value.isprintable():
        raise _refused(f"{claim}: expected a name of 1 to {MAX_NAME} printable characters")
    return value


verifier_key = web.AppKey("jwt_verifier", Verifier)


async def context(app: web.Application):
    """The app's Verifier when JWTs are configured (and the HTTP session that fetches a JWKS URL)."""
    settings = app[keys.settings_key]
    if not settings.jwt_enabled:
        yield
        return
    session = key_set = None
    if settings.jwt_jwks_url:
        session = aiohttp.ClientSession()
        source = jwks.url_source(
            session, settings.jwt_jwks_url, settings.jwt_jwks_timeout_seconds, settings.jwt_jwks_max_bytes
        )
    elif settings.jwt_jwks_file:
        source = jwks.file_source(settings.jwt_jwks_file, settings.jwt_jwks_max_bytes)
    if settings.jwt_jwks_url or settings.jwt_jwks_file:
        key_set = jwks.KeySet(
            source, max_age=settings.jwt_jwks_cache_seconds, refetch_seconds=settings.jwt_jwks_refetch_seconds
        )
    app[verifier_key] = Verifier(settings, key_set)
    try:
        yield
    finally:
        if session is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await session.close()

