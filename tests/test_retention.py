"""Retention: finished jobs leave the status table after a while; the log still answers for them."""

import asyncio

import pytest

from jobledger.web.app import create_app
from jobledger.web.config import Settings


@pytest.fixture
async def client(aiohttp_client, db_url):
    return await aiohttp_client(create_app(Settings(db=db_url, sweep_interval=0.05, retention_seconds=0.3)))


async def test_finished_jobs_leave_the_status_table_but_not_the_log(client):
    done = await (await client.post("/jobs", json={"type": "r"})).json()
    await client.post(f"/jobs/{done['id']}/start")
    done = await (await client.post(f"/jobs/{done['id']}/complete", json={"result": 7})).json()
    running = await (await client.post("/jobs", json={"type": "r"})).json()
    await client.post(f"/jobs/{running['id']}/start")

    for _ in range(100):
        listed = [j["id"] for j in (await (await client.get("/jobs")).json())["jobs"]]
        if done["id"] not in listed:
            break
        await asyncio.sleep(0.05)
    assert listed == [running["id"]]
    health = await (await client.get("/health")).json()
    assert health["jobs"] == {"running": 1}

    assert await (await client.get(f"/jobs/{done['id']}")).json() == done
    assert len((await (await client.get(f"/jobs/{done['id']}/events")).json())["events"]) == 3
    assert (await client.post(f"/jobs/{done['id']}/progress", json={"percent": 1})).status == 409
    assert (await (await client.get(f"/jobs/{done['id']}/verify")).json())["ok"] is True


async def test_one_prune_removes_more_finished_jobs_than_a_chunk(aiohttp_client, db_url, monkeypatch):
    """PostgreSQL deletes a chunk per transaction (one long one would hold back the log's followers)."""
    from datetime import UTC, datetime, timedelta

    from jobledger.eventlog.postgres import status as pg_status
    from jobledger.web import keys

    monkeypatch.setattr(pg_status, "PRUNE_CHUNK", 2)
    client = await aiohttp_client(create_app(Settings(db=db_url, sweep_interval=0.05)))  # no retention
    finished = []
    for _ in range(5):
        job = await (await client.post("/jobs", json={"type": "r"})).json()
        assert (await client.delete(f"/jobs/{job['id']}")).status == 200
        finished.append(job["id"])
    kept = await (await client.post("/jobs", json={"type": "r"})).json()

    store = client.app[keys.stores_key]
    assert await store.status.prune_status(datetime.now(UTC) + timedelta(seconds=1)) == 5

    assert [j["id"] for j in (await (await client.get("/jobs")).json())["jobs"]] == [kept["id"]]
    for job_id in finished:
        assert (await (await client.get(f"/jobs/{job_id}")).json())["status"] == "cancelled"
