"""How webhook deliveries go out over HTTP: one aiohttp session, no redirects followed, and a
resolver that refuses a name resolving to an address the configuration does not allow, so the
connection goes only to addresses checked when it is made (a name cannot resolve to a public
address for the check and to a private one for the connection).
"""

import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from jobledger.application import webhook_targets

_ANSWER_BYTES = 64 * 1024  # of an answer's body read, then the connection is let go


class GuardedResolver(AbstractResolver):
    """The threaded resolver (getaddrinfo off the event loop), refusing what webhook_targets refuses."""

    def __init__(self, allowed: frozenset[str]):
        self.allowed = allowed
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        for result in found:
            try:
                webhook_targets.check_address(result["host"], self.allowed)
            except webhook_targets.TargetRefused as exc:
                raise OSError(f"{host}: {exc}") from None
        return found

    async def close(self) -> None:
        await self._inner.close()


class Poster:
    """POSTs deliveries; `post` is application.webhook_delivery.Post."""

    def __init__(self, allowed: frozenset[str]):
        self.allowed = allowed
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.allowed), limit=0, limit_per_host=0)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": "jobledger-webhooks"})
        host, _ = webhook_targets.split_url(url)
        try:
            webhook_targets.check_address(host, self.allowed)  # an address in the URL is not resolved
        except ValueError:
            pass
        options: dict[str, Any] = {"allow_redirects": False, "timeout": aiohttp.ClientTimeout(total=timeout)}
        async with self._session.post(url, data=body, headers=headers, **options) as response:
            await response.content.read(_ANSWER_BYTES)
            return response.status

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
