"""Live updates from a jobledger service, over its WebSockets.

    async for event in jobledger.client.subscribe("http://127.0.0.1:8080", jobs=[job_id]):
        print(event.position, event.event, event.job["status"])

    job = await jobledger.client.wait_for("http://127.0.0.1:8080", job_id)  # the final document

Both reconnect with exponential backoff when the connection drops (or the service closes it:
4008 "lagging", 1001 on shutdown), and `subscribe` resumes from the last position it yielded,
so no event is missed or repeated. Close a `subscribe` you leave early with
`contextlib.aclosing` to release its connection at once.
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
    """The service refused the request (unknown job, invalid subscription); retrying will not help."""


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


def _refused(exc: aiohttp.WSServerHandshakeError) -> bool:
    return 400 <= exc.status < 500


async def subscribe(
    url: str,
    *,
    jobs: Iterable[UUID | str] = (),
    job_types: Iterable[str] = (),
    all: bool | None = None,
    after: int | None = None,
    session: aiohttp.ClientSession | None = None,
    backoff: Backoff | None = None,
    heartbeat: float = 30.0,
    api_key: str | None = None,
) -> AsyncIterator[Event]:
    """Yield each event of these jobs or job types (all events if neither), in log order, live.

    With `after`, events after that log position are replayed first. Reconnects forever;
    raises Refused if the service rejects the subscription.
    """
    request = {"type": "subscribe", "jobs": [str(j) for j in jobs], "job_types": list(job_types)}
    request["all"] = all if all is not None else not (request["jobs"] or request["job_types"])
    backoff = backoff or Backoff()
    last = after
    async with _session(session) as http:
        while True:
            try:
                async with http.ws_connect(_url(url, "/ws"), heartbeat=heartbeat, headers=_auth(api_key)) as ws:
                    await ws.send_str(orjson.dumps({**request, "after": last}).decode())
                    async for msg in ws:
                        if msg.type is not aiohttp.WSMsgType.TEXT:
                            continue
                        message = orjson.loads(msg.data)
                        if message["type"] == "event" and (last is None or message["position"] > last):
                            last = message["position"]
                            yield Event.from_message(message)
                        elif message["type"] == "subscribed":
                            backoff.reset()
                            last = message["position"] if last is None else last
                        elif message["type"] == "error":
                            raise Refused(message["error"]["message"])
                    log.info("live socket closed (%s); reconnecting after position %s", ws.close_code, last)
            except aiohttp.WSServerHandshakeError as exc:
                if _refused(exc):
                    raise Refused(f"{exc.status} {exc.message}") from exc
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

    Raises Refused for an unknown job, TimeoutError after `timeout` seconds.
    """
    backoff = backoff or Backoff()
    async with asyncio.timeout(timeout), _session(session) as http:
        while True:
            try:
                async with http.ws_connect(_url(url, f"/jobs/{job_id}/ws"), heartbeat=heartbeat, headers=_auth(api_key)) as ws:
                    async for msg in ws:
                        if msg.type is not aiohttp.WSMsgType.TEXT:
                            continue
                        backoff.reset()
                        job = orjson.loads(msg.data).get("job")
                        if job is not None and job["status"] in TERMINAL:
                            return job
            except aiohttp.WSServerHandshakeError as exc:
                if _refused(exc):
                    raise Refused(f"{exc.status} {exc.message}") from exc
            except (aiohttp.ClientError, ConnectionError) as exc:
                log.warning("job socket failed: %s; retrying", exc)
            await backoff.wait()
