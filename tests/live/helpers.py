"""Helpers for the live-update tests: driving jobs over HTTP and reading sockets."""

import asyncio
import time

import aiohttp
import orjson

TIMEOUT = 10.0
EVENT_KEYS = {"type", "event", "position", "job_id", "version", "recorded_at", "data", "job"}


class Api:
    """Drive jobs over HTTP."""

    def __init__(self, client):
        self.client = client

    async def create(self, **body) -> dict:
        resp = await self.client.post("/jobs", json={"type": "report", **body})
        assert resp.status == 201, await resp.text()
        return await resp.json()

    async def post(self, job_id: str, action: str, body: dict | None = None) -> dict:
        resp = await self.client.post(f"/jobs/{job_id}/{action}", json=body)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    async def progress(self, job_id: str, percent: float) -> dict:
        return await self.post(job_id, "progress", {"percent": percent})

    async def get(self, job_id: str) -> dict:
        resp = await self.client.get(f"/jobs/{job_id}")
        assert resp.status == 200
        return await resp.json()

    async def log(self, after: int = 0) -> list[dict]:
        """The global log after `after`, page by page."""
        events = []
        while True:
            resp = await self.client.get("/events", params={"after": after, "limit": 5000})
            page = (await resp.json())["events"]
            if not page:
                return events
            events += page
            after = page[-1]["position"]

    async def stream(self, job_id: str) -> list[dict]:
        return (await (await self.client.get(f"/jobs/{job_id}/events")).json())["events"]


async def receive(ws, timeout: float = TIMEOUT) -> dict:
    """The next JSON message; fails on a close or after `timeout` seconds. The deadline is kept
    here: aiohttp's own receive timeout starts again after each ping it answers, and a service
    that heartbeats more often than `timeout` would keep a failing test waiting for ever."""
    async with asyncio.timeout(timeout):
        msg = await ws.receive()
    assert msg.type is aiohttp.WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
    return orjson.loads(msg.data)


async def receive_events(ws, count: int, timeout: float = TIMEOUT) -> list[dict]:
    """The next `count` event messages (skipping acknowledgements)."""
    events, deadline = [], time.monotonic() + timeout
    while len(events) < count:
        message = await receive(ws, max(0.01, deadline - time.monotonic()))
        if message["type"] == "event":
            events.append(message)
    return events


async def closed(ws, timeout: float = TIMEOUT) -> tuple[list[dict], aiohttp.WSMessage]:
    """Read until the socket closes: (the messages before, the close message)."""
    messages = []
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return messages, msg
        messages.append(orjson.loads(msg.data))


async def subscribe(ws, **what) -> dict:
    """Send a subscribe and return its acknowledgement; events before it are returned by `replayed`."""
    await ws.send_json({"type": "subscribe", **what})
    replayed = []
    while True:
        message = await receive(ws)
        if message["type"] == "subscribed":
            message["replayed"] = replayed
            return message
        assert message["type"] == "event", message
        replayed.append(message)


async def wait_until(predicate, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
    return value
