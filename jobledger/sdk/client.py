"""Live updates from a jobledger service, over its WebSockets.

    async for event in jobledger.client.subscribe("http://127.0.0.1:8080", jobs=[job_id]):
        print(event.position, event.event, event.job["status"])

    job = await jobledger.client.wait_for("http://127.0.0.1:8080", job_id)  # the final document

Both reconnect with exponential backoff when the connection drops (or the service closes it:
4008 "lagging", 1001 on shutdown, 4029 or HTTP 429/5xx for a while), and `subscribe` resumes
from the last position it yielded, so no event is missed or repeated. Close a `subscribe` you
leave early with `contextlib.aclosing` to release its connection at once.

A refusal that retrying cannot mend (401 no, unknown or revoked key; 403 a role or job type the
key may not have; 404 unknown job; 400 invalid subscription) raises `Refused` at once, with the
service's error `code` and `message`. Where the service requires keys, pass `api_key`.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import aiohttp
import orjson

log = logging.getLogger("jobledger.client")

TERMINAL = frozenset({"completed", "failed", "cancelled", "expired"})


@dataclass(frozen=True, slots=True)
class Event:
    """One live event: what happened, where it sits in the log, and the job document after it."""

    event: str  # the event type, e.g. "ProgressReported"
    position: int
    job_id: str
    version: int
    recorded_at: str
    data: dict[str, Any]
    job: dict[str, Any]

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> "Event":
        return cls(**{k: message[k] for k in cls.__slots__})


class Refused(Exception):
    """The service refused the request (unknown job, missing or revoked key, invalid subscription);
    retrying will not help. `code` and `message` are the service's (`{"error": {code, message}}`)."""

    def __init__(self, code: str, message: str, status: int | None = None, details: dict[str, Any] | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status  #: the HTTP status of a refused upgrade (None: refused on the open socket)
        self.details = details or {}

    @classmethod
    def from_error(cls, error: dict[str, Any], status: int | None = None) -> "Refused":
        return cls(error["code"], error["message"], status, error.get("details"))


#: close codes of a socket the service refused after the upgrade, and the error codes they stand for
CLOSE_CODES = {4001: "unauthorized", 4003: "forbidden", 4004: "job_not_found"}
_HTTP_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}


@dataclass
class Backoff:
    """Exponential backoff with jitter: first, first*2, ... up to `most` seconds."""

    first: float = 0.1
    most: float = 10.0
    _next: float = 0.0

    def reset(self) -> None:
        self._next = self.first

    async def wait(self) -> None:
        delay = self._next or self.first
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        self._next = min(delay * 2, self.most)


def _auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _url(base: str, path: str) -> str:
    return base.rstrip("/") + path


@contextlib.asynccontextmanager
async def _session(session: aiohttp.ClientSession | None):
    if session is not None:
        yield session
    else:
        async with aiohttp.ClientSession() as own:
            yield own


async def _handshake_refused(http: aiohttp.ClientSession, url: str, headers: dict[str, str], exc) -> Refused | None:
    """Refused for a refused upgrade that retrying cannot mend (400, 401, 403, 404), else None.

    aiohttp drops the body of a refused upgrade, so the same URL is asked again without the
    upgrade: the service answers it the same error (who asks and what are checked first).
    """
    if exc.status not in _HTTP_CODES:
        return None
    try:
        async with http.get(url, headers=headers) as resp:
            error = (await resp.json(content_type=None))["error"] if resp.status == exc.status else None
    except (aiohttp.ClientError, ValueError, KeyError, TypeError):
        error = None
    if not isinstance(error, dict) or not {"code", "message"} <= error.keys():
        error = {"code": _HTTP_CODES[exc.status], "message": f"HTTP {exc.status}"}
    return Refused.from_error(error, exc.status)


async def _message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | None:
    """The next JSON message; None once the socket closed (Refused if the service closed it refusing)."""
    while True:
        msg = await ws.receive()
        if msg.type is aiohttp.WSMsgType.TEXT:
            message = orjson.loads(msg.data)
            if message.get("type") == "error":  # the service says why, before it closes
                raise Refused.from_error(message["error"])
            return message
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
            code = msg.data if msg.type is aiohttp.WSMsgType.CLOSE else ws.close_code  # the service's own code
            if code in CLOSE_CODES:
                raise Refused(CLOSE_CODES[code], msg.extra or "refused")
            return None
        if msg.type is aiohttp.WSMsgType.ERROR:
            raise ConnectionError(f"live socket error: {msg.data}")


async def subscribe(
    url: str,
    *,
    jobs: Iterable[UUID | str] = (),
    job_types: Iterable[str] = (),
    metadata: dict[str, str] | None = None,
    all: bool | None = None,
    after: int | None = None,
    session: aiohttp.ClientSession | None = None,
    backoff: Backoff | None = None,
    heartbeat: float = 30.0,
    api_key: str | None = None,
) -> AsyncIterator[Event]:
    """Yield each event of these jobs, job types or jobs whose metadata holds every value of
    `metadata` (all events if none is given), in log order, live.

    With `after`, events after that log position are replayed first. Reconnects forever;
    raises Refused if the service rejects the subscription or the key.
    """
    request = {"type": "subscribe", "jobs": [str(j) for j in jobs], "job_types": list(job_types)}
    if metadata:
        request["metadata"] = dict(metadata)
    request["all"] = all if all is not None else not (request["jobs"] or request["job_types"] or metadata)
    backoff = backoff or Backoff()
    last = after
    target, headers = _url(url, "/ws"), _auth(api_key)
    async with _session(session) as http:
        while True:
            try:
                async with http.ws_connect(target, heartbeat=heartbeat, headers=headers) as ws:
                    # without a key, a service that requires one refuses this first message at once (4001)
                    await ws.send_str(orjson.dumps({**request, "after": last}).decode())
                    while (message := await _message(ws)) is not None:
                        if message["type"] == "event" and (last is None or message["position"] > last):
                            last = message["position"]
                            yield Event.from_message(message)
                        elif message["type"] == "subscribed":
                            backoff.reset()
                            last = message["position"] if last is None else last
                    log.info("live socket closed (%s); reconnecting after position %s", ws.close_code, last)
            except aiohttp.WSServerHandshakeError as exc:
                if refused := await _handshake_refused(http, target, headers, exc):
                    raise refused from None
                log.warning("live socket refused (%s); retrying", exc.status)
            except (aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
                log.warning("live socket failed: %s; retrying", exc)
            await backoff.wait()


async def wait_for(
    url: str,
    job_id: UUID | str,
    *,
    timeout: float | None = None,
    session: aiohttp.ClientSession | None = None,
    backoff: Backoff | None = None,
    heartbeat: float = 30.0,
    api_key: str | None = None,
) -> dict[str, Any]:
    """Wait until the job is completed, failed, cancelled or expired; return its final document.

    Raises Refused for an unknown job (or a key refused), TimeoutError after `timeout` seconds.
    """
    backoff = backoff or Backoff()
    target, headers = _url(url, f"/jobs/{job_id}/ws"), _auth(api_key)
    async with asyncio.timeout(timeout), _session(session) as http:
        while True:
            try:
                async with http.ws_connect(target, heartbeat=heartbeat, headers=headers) as ws:
                    if api_key is None:  # a service that requires a key refuses this at once (4001), not after its wait
                        await ws.send_str('{"type": "ping"}')
                    while (message := await _message(ws)) is not None:
                        backoff.reset()
                        job = message.get("job")
                        if job is not None and job["status"] in TERMINAL:
                            return job
            except aiohttp.WSServerHandshakeError as exc:
                if refused := await _handshake_refused(http, target, headers, exc):
                    raise refused from None
                log.warning("job socket refused (%s); retrying", exc.status)
            except (aiohttp.ClientError, ConnectionError) as exc:
                log.warning("job socket failed: %s; retrying", exc)
            await backoff.wait()
