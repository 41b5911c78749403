"""Auditors: a job as it was at a time or a log position, folded from the log."""

import asyncio
from datetime import UTC, datetime
from urllib.parse import quote

import pytest


async def test_as_of_and_at_position_show_the_job_as_it_was(client):
    job = await (await client.post("/jobs", json={"type": "audit", "phases": ["a"]})).json()
    await client.post(f"/jobs/{job['id']}/start")
    await asyncio.sleep(0.01)
    between = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await client.post(f"/jobs/{job['id']}/progress", json={"percent": 50})
    done = await (await client.post(f"/jobs/{job['id']}/complete", json={"result": 1})).json()
    history = (await (await client.get(f"/jobs/{job['id']}/events")).json())["events"]

    then = await (await client.get(f"/jobs/{job['id']}?as_of={quote(between.isoformat())}")).json()
    assert (then["status"], then["version"], then["progress"]) == ("running", 2, None)
    assert then["position"] == history[1]["position"]

    at = await (await client.get(f"/jobs/{job['id']}?at_position={history[2]['position']}")).json()
    assert (at["status"], at["progress"]["percent"]) == ("running", 50)
    now = await (await client.get(f"/jobs/{job['id']}?as_of={quote(datetime.now(UTC).isoformat())}")).json()
    assert now == done


async def test_before_the_job_existed_is_404(client):
    job = await (await client.post("/jobs", json={"type": "audit"})).json()
    resp = await client.get(f"/jobs/{job['id']}?at_position={job['position'] - 1}")
    assert resp.status == 404


@pytest.mark.parametrize("query", ["as_of=yesterday", "as_of=2026-01-01T00:00:00", "at_position=-1", "bogus=1"])
async def test_bad_time_travel_queries_are_400(client, query):
    job = await (await client.post("/jobs", json={"type": "audit"})).json()
    resp = await client.get(f"/jobs/{job['id']}?{query}")
    assert resp.status == 400
    assert (await resp.json())["error"]["details"]["fields"][0]["field"] in query


async def test_job_events_filter_by_position_and_time(client):
    job = await (await client.post("/jobs", json={"type": "audit"})).json()
    await client.post(f"/jobs/{job['id']}/start")
    await asyncio.sleep(0.01)
    between = datetime.now(UTC)
    await asyncio.sleep(0.01)
    await client.post(f"/jobs/{job['id']}/complete")
    events = (await (await client.get(f"/jobs/{job['id']}/events")).json())["events"]
    after = (await (await client.get(f"/jobs/{job['id']}/events?after={events[0]['position']}")).json())["events"]
    assert after == events[1:]
    until = (await (await client.get(f"/jobs/{job['id']}/events?until={quote(between.isoformat())}")).json())["events"]
    assert until == events[:2]
