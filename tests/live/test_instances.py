"""Point 5: several service processes on one PostgreSQL; a listener on one instance receives
the events appended through another, in log order (woken by LISTEN/NOTIFY, read from the log)."""

import asyncio

import aiohttp
import orjson

from tests.live.processes import services

WRITERS = 4
JOBS_PER_WRITER = 5


async def _drive(session: aiohttp.ClientSession, url: str, count: int) -> list[str]:
    """Create jobs through `url` and take each through a few steps; returns their ids."""
    ids = []
    for _ in range(count):
        async with session.post(f"{url}/jobs", json={"type": "ocr"}) as resp:
            ids.append((await resp.json())["id"])
    for job_id in ids:
        for action, body in [("start", None), ("progress", {"percent": 50}), ("complete", {"result": 1})]:
            async with session.post(f"{url}/jobs/{job_id}/{action}", json=body) as resp:
                assert resp.status == 200, await resp.text()
    return ids


async def _log(session: aiohttp.ClientSession, url: str, after: int) -> list[dict]:
    async with session.get(f"{url}/events", params={"after": after, "limit": 5000}) as resp:
        return (await resp.json())["events"]


async def _events(ws, count: int) -> list[dict]:
    events = []
    while len(events) < count:
        msg = await ws.receive(timeout=15)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        message = orjson.loads(msg.data)
        if message["type"] == "event":
            events.append(message)
    return events


async def _subscribed(session, url: str, **what):
    ws = await session.ws_connect(f"{url}/ws")
    await ws.send_json({"type": "subscribe", **what})
    while orjson.loads((await ws.receive(timeout=15)).data)["type"] != "subscribed":
        pass
    return ws


async def test_a_listener_on_one_instance_gets_what_another_appends_in_log_order(pg_url, tmp_path):
    async with services(pg_url, tmp_path, 2) as (a, b), aiohttp.ClientSession() as session:
        listener = await _subscribed(session, a.url, all=True)
        typed = await _subscribed(session, a.url, job_types=["ocr"])
        start = (await _log(session, b.url, 0) or [{"position": 0}])[-1]["position"]
        await asyncio.gather(*(_drive(session, b.url, JOBS_PER_WRITER) for _ in range(WRITERS)))
        log = await _log(session, b.url, start)
        assert len(log) == WRITERS * JOBS_PER_WRITER * 4
        for ws in (listener, typed):
            received = await _events(ws, len(log))
            assert [(e["position"], e["job_id"], e["version"], e["event"]) for e in received] == [
                (e["position"], e["job_id"], e["version"], e["type"]) for e in log
            ]
            await ws.close()


async def test_listeners_on_every_instance_see_one_order_while_both_append(pg_url, tmp_path):
    async with services(pg_url, tmp_path, 2) as (a, b), aiohttp.ClientSession() as session:
        listeners = [await _subscribed(session, s.url, all=True) for s in (a, b)]
        start = (await _log(session, a.url, 0) or [{"position": 0}])[-1]["position"]
        await asyncio.gather(*(_drive(session, s.url, 3) for s in (a, b, a, b)))
        log = [e["position"] for e in await _log(session, a.url, start)]
        for ws in listeners:
            assert [e["position"] for e in await _events(ws, len(log))] == log
            await ws.close()


async def test_a_job_socket_on_one_instance_follows_a_job_driven_through_another(pg_url, tmp_path):
    async with services(pg_url, tmp_path, 2) as (a, b), aiohttp.ClientSession() as session:
        async with session.post(f"{b.url}/jobs", json={"type": "ocr"}) as resp:
            job = await resp.json()
        ws = await session.ws_connect(f"{a.url}/jobs/{job['id']}/ws")
        first = orjson.loads((await ws.receive(timeout=15)).data)
        assert first["type"] == "job" and first["job"]["id"] == job["id"]
        for action in ("start", "complete"):
            async with session.post(f"{b.url}/jobs/{job['id']}/{action}", json=None) as resp:
                assert resp.status == 200
        events = await _events(ws, 2)
        assert [e["event"] for e in events] == ["JobStarted", "JobCompleted"]
        close = await ws.receive(timeout=15)
        assert close.type is aiohttp.WSMsgType.CLOSE and close.data == aiohttp.WSCloseCode.OK
