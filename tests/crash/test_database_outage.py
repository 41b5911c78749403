"""Issue 6, point 5: PostgreSQL goes away under load (connections refused, every session
terminated) and comes back. Meanwhile each request answers 503 JSON with Retry-After, in
bounded time; afterwards the service recovers by itself: creates, claims, long polls and
live updates work again, LISTEN is back, and nothing acknowledged was lost."""

import asyncio
import contextlib
import os
import time
import uuid

import aiohttp
import asyncpg
import pytest

from jobledger.domain import errors
from tests.conftest import PG_ADMIN_URL
from tests.crash.checks import assert_nothing_lost, drain, global_log
from tests.crash.load import Load
from tests.live.helpers import receive_events, subscribe, wait_until
from tests.live.processes import Service

ANSWER_WITHIN = 10  # seconds: a request during the outage must not wait longer for its 503
OUTAGE_PROBES = 2  # rounds of probes: right after the sessions are cut, and once reconnecting is refused
SERVICE_ENV = {"JOBLEDGER_SWEEP_INTERVAL": "0.2"}


@contextlib.asynccontextmanager
async def outage(database: str):
    """The database refuses new connections and every session to it is terminated, until the block ends."""
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        await admin.close()


async def listen_pids(database: str) -> set[int]:
    """The sessions LISTENing for the log's notifications."""
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        sql = "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN %jobledger_events%'"
        return {r[0] for r in await admin.fetch(sql, database)}
    finally:
        await admin.close()


def _assert_unavailable(status: int, headers, body: dict) -> None:
    assert status == 503, (status, body)
    assert int(headers["Retry-After"]) >= 1
    assert body["error"]["code"] == "store_unavailable", body
    # the client is told to try again, not how the service reaches its database
    assert body["error"]["message"] == errors.StoreUnavailable().message, body


async def _probe(session: aiohttp.ClientSession, base: str, job_id: str) -> None:
    """Create, read, list, claim (long poll), the log, health and both sockets: each a 503 in bounded time."""
    requests = [
        ("POST", "/jobs", {"type": "probe"}),
        ("GET", f"/jobs/{job_id}", None),
        ("GET", "/jobs", None),
        ("POST", "/workers/claim", {"worker_id": "probe", "wait_seconds": 5}),
        ("GET", "/events", None),
        ("GET", "/health", None),
    ]
    async with asyncio.timeout(ANSWER_WITHIN):
        for method, path, body in requests:
            async with session.request(method, base + path, json=body) as resp:
                _assert_unavailable(resp.status, resp.headers, await resp.json())
        for path in ("/ws", f"/jobs/{job_id}/ws"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(base + path)
            assert refused.value.status == 503 and int(refused.value.headers["Retry-After"]) >= 1


async def _long_poll_claims_again(session: aiohttp.ClientSession, base: str) -> str:
    """A claim waiting for work gets the job created while it waits (then completes it); its id."""
    body = {"worker_id": "late", "types": ["late"], "wait_seconds": 30, "lease_seconds": 30}
    claim = asyncio.create_task(session.post(f"{base}/workers/claim", json=body))
    await asyncio.sleep(0.5)
    async with session.post(f"{base}/jobs", json={"type": "late"}) as resp:
        job = await resp.json()
    async with await claim as resp:
        claimed = (await resp.json())["jobs"]
    assert [j["id"] for j in claimed] == [job["id"]]
    body = {"result": "late", "lease_token": claimed[0]["lease_token"]}
    async with session.post(f"{base}/jobs/{job['id']}/complete", json=body) as resp:
        assert resp.status == 200
    return job["id"]


async def test_a_lost_database_is_503_with_retry_after_and_the_service_recovers_by_itself(pg_url, tmp_path):
    database = pg_url.rsplit("/", 1)[1]
    service = Service(pg_url, tmp_path, env={**os.environ, **SERVICE_ENV})
    await service.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            load = Load(session, service.url)
            ws = await session.ws_connect(f"{service.url}/ws")
            subscribed = await subscribe(ws, all=True)
            job_id = await load.create(uuid.uuid4().hex)
            tasks = [asyncio.create_task(load.until_gone(c)) for c in (load.creator(pause=0.05), load.worker("w"))]
            await wait_until(lambda: sum(a.event == "JobCompleted" for a in load.acks) >= 3, timeout=30)
            listening = await listen_pids(database)
            assert listening

            async with outage(database):
                for _ in range(OUTAGE_PROBES):
                    await _probe(session, service.url, job_id)
                    await asyncio.sleep(1)
                await wait_until(lambda: load.statuses[503] >= 2, timeout=30)
            acknowledged = len(load.acks)
            assert f"answered 503: {errors.StoreUnavailable().message} (PostgreSQL: " in service.log_path.read_text()

            await wait_until(lambda: sum(a.event == "JobCompleted" for a in load.acks[acknowledged:]) >= 3, timeout=30)
            late = await _long_poll_claims_again(session, service.url)
            load.stop.set()
            await asyncio.gather(*tasks)
            assert load.gone == 0 and set(load.statuses) <= {200, 201, 409, 503}, load.statuses
            await drain(load, service.url)
            await assert_nothing_lost(session, service.url, load, others=(late,))

            log = [e for e in await global_log(session, service.url) if e["position"] > subscribed["position"]]
            received = await receive_events(ws, len(log), timeout=30)
            assert [(e["position"], e["job_id"], e["version"], e["event"]) for e in received] == [
                (e["position"], e["job_id"], e["version"], e["type"]) for e in log
            ]
            deadline = time.monotonic() + 30
            while not (await listen_pids(database)) - listening:
                assert time.monotonic() < deadline, "LISTEN never came back"
                await asyncio.sleep(0.2)
            await ws.close()
        await service.stop()
        assert service.process.returncode == 0, "no clean shutdown after the outage"
    finally:
        await service.stop()
