"""An identity provider's signing keys (a JWKS, RFC 7517), from a URL or a file, cached.

A token names its key by `kid`. A kid the cache does not hold makes the set fetched again,
for key rotation, but at most once every `refetch_seconds`: a flood of tokens with made-up
kids costs the JWKS endpoint one request per interval, not one per token. Concurrent
requests share one fetch (a lock), and the cached set is also fetched again once it is
`max_age` old. A fetch that fails keeps the keys held so far.

Fetches never block the event loop: the URL through aiohttp (with a timeout and a size
cap), the file in a thread.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from jobledger.domain import errors

log = logging.getLogger("jobledger.jwt")

MAX_KEYS = 100  #: keys read from one JWKS; the rest are ignored
#: the algorithms a JWKS key may verify, and the public key types that each needs
KEY_TYPES: dict[str, tuple[type, ...]] = {
    "RS256": (rsa.RSAPublicKey,),
    "ES256": (ec.EllipticCurvePublicKey,),
    "EdDSA": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}
_JWK_ALGS = {"RS256": {"RS256"}, "ES256": {"ES256"}, "EdDSA": {"EdDSA", "Ed25519", "Ed448"}}

Source = Callable[[], Awaitable[bytes]]


class KeysUnavailable(errors.JobServiceError):
    """The identity provider's signing keys could not be read; try again later."""

    code = "keys_unavailable"


class KeySetError(Exception):
    """A JWKS that could not be fetched or read."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One public key of a JWKS, and the algorithm the JWKS declares for it (if any)."""

    public: Any  # a cryptography public key
    alg: str | None


def url_source(session: aiohttp.ClientSession, url: str, timeout: float, max_bytes: int) -> Source:
    """Fetch the JWKS at `url`: within `timeout` seconds, at most `max_bytes`, no redirects."""

    async def fetch() -> bytes:
        try:
            client_timeout = aiohttp.ClientTimeout(total=timeout)
            async with session.get(url, timeout=client_timeout, allow_redirects=False) as response:
                if response.status != 200:
                    raise KeySetError(f"{url} answered HTTP {response.status}")
                if (response.content_length or 0) > max_bytes:
                    raise KeySetError(f"{url} is over {max_bytes} bytes")
                body = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    body += chunk
                    if len(body) > max_bytes:
                        raise KeySetError(f"{url} is over {max_bytes} bytes")
                return bytes(body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KeySetError(f"{url}: {type(exc).__name__} {exc}") from None

    return fetch


def file_source(path: str, max_bytes: int) -> Source:
    """Read the JWKS in the file at `path` (again at each fetch: a rotated file is picked up)."""

    def read() -> bytes:
        with open(Path(path), "rb") as file:
            body = file.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise KeySetError(f"{path} is over {max_bytes} bytes")
        return body

    async def fetch() -> bytes:
        try:
            return await asyncio.to_thread(read)
        except OSError as exc:
            raise KeySetError(f"{path}: {exc.strerror or exc}") from None

    return fetch


def parse(body: bytes) -> dict[str, SigningKey]:
    """The usable public signing keys of a JWKS document, by kid ("" for a key without one).
    Symmetric (`oct`) and private keys are never taken from a JWKS; a key that cannot be
    read is skipped (and logged), not fatal to the others."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise KeySetError(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetError('not a JWKS: expected {"keys": [...]}')
    keys: dict[str, SigningKey] = {}
    for data in document["keys"][:MAX_KEYS]:
        if not isinstance(data, dict) or data.get("kty") == "oct" or "d" in data or data.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(data)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError) as exc:
            log.warning("JWKS key %r skipped: %s", data.get("kid"), exc)
            continue
        keys[str(data.get("kid", ""))] = SigningKey(key.key, data.get("alg"))
    return keys


def fits(key: SigningKey, alg: str) -> bool:
    """Whether `key` may verify a token signed with `alg`: by the key's own type (and its
    `alg`, if the JWKS gives one), never by what the token says alone."""
    public = key.public
    if not isinstance(public, KEY_TYPES.get(alg, ())):
        return False
    if alg == "ES256" and public.curve.name != "secp256r1":  # ES256 is P-256 only (RFC 7518, 3.4)
        return False
    return key.alg is None or key.alg in _JWK_ALGS[alg]


class KeySet:
    """The signing keys of one JWKS source, fetched on demand and cached."""

    def __init__(self, source: Source, *, max_age: float, refetch_seconds: float, clock=time.monotonic):
        self.source = source
        self.max_age = max_age
        self.refetch_seconds = refetch_seconds
        self.fetches = 0  #: fetches tried (metrics, tests)
        self._clock = clock
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last fetch tried, successful or not
        self._lock = asyncio.Lock()

    async def key(self, kid: str | None, alg: str) -> SigningKey | None:
        """The key named `kid` (without a kid: the one key that fits `alg`), fetching the set
        again if the kid is unknown or the set is old; None if there is no such key."""
        found = self._find(kid, alg)
        if found is None or self._old():
            await self._refresh()
            if self._fetched_at is None:  # never fetched: the service's trouble, not the token's
                raise KeysUnavailable()
            found = self._find(kid, alg)
        return found

    def _find(self, kid: str | None, alg: str) -> SigningKey | None:
        if kid is not None:
            return self._keys.get(kid)
        fitting = [key for key in self._keys.values() if fits(key, alg)]
        return fitting[0] if len(fitting) == 1 else None

    def _old(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > self.max_age

    async def _refresh(self) -> None:
        tried = self._tried_at
        async with self._lock:
            if self._tried_at != tried:  # another request fetched while this one waited
                return
            if tried is not None and self._clock() - tried < self.refetch_seconds:
                return  # fetched a moment ago: an unknown kid does not make it fetch again yet
            self._tried_at = self._clock()
            self.fetches += 1
            try:
                self._keys = parse(await self.source())
                self._fetched_at = self._clock()
            except KeySetError as exc:
                log.warning("could not fetch the JWKS: %s", exc)
