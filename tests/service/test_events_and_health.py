"""GET /jobs/{id}/events, GET /events (the global log) and GET /health."""

import asyncio
from datetime import datetime

import jobledger
from tests.service.helpers import BACKEND_NAMES, all_events, ok


async def _history(client, job: dict) -> dict:
    return await ok(await client.get(f"/jobs/{job['id']}/events"))


async def test_job_history_is_ordered_and_complete(client, job_in, send):
    job = await job_in("phase_running")
    other = await job_in("running")
    await ok(await send(job, "phases/research/fail", {"error": "timeout"}))
    await ok(await send(other, "progress", {"percent": 3}))

    history = await _history(client, job)

    assert history["job_id"] == job["id"]
    events = history["events"]
    assert [e["type"] for e in events] == ["JobCreated", "JobStarted", "PhaseStarted", "PhaseFailed"]
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    assert {e["job_id"] for e in events} == {job["id"]}
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    assert events == [e for e in await all_events(client) if e["job_id"] == job["id"]]
    assert events[3]["data"] == {"phase": "research", "error": "timeout"}


async def test_recorded_event_has_its_stored_fields(client, create_job):
    job = await create_job(type="rfp", phases=["research"], payload={"a": 1})

    (created,) = (await _history(client, job))["events"]

    stored_fields = {"position", "job_id", "version", "type", "schema_version", "data", "metadata", "recorded_at"}
    assert stored_fields <= set(created)
    assert (created["type"], created["version"], created["job_id"]) == ("JobCreated", 1, job["id"])
    assert isinstance(created["schema_version"], int) and created["schema_version"] >= 1
    assert created["data"]["job_type"] == "rfp"
    assert (created["data"]["payload"], created["data"]["phases"]) == ({"a": 1}, ["research"])
    assert datetime.fromisoformat(created["recorded_at"]) == datetime.fromisoformat(job["created_at"])
    assert created["position"] == job["position"]


async def test_global_log_is_in_position_order_across_jobs(client, create_job, send):
    a, b = await create_job(), await create_job()
    await ok(await send(b, "start"))
    await ok(await send(a, "start"))

    page = await ok(await client.get("/events"))

    assert [(e["job_id"], e["type"]) for e in page["events"]] == [
        (a["id"], "JobCreated"),
        (b["id"], "JobCreated"),
        (b["id"], "JobStarted"),
        (a["id"], "JobStarted"),
    ]
    positions = [e["position"] for e in page["events"]]
    assert positions == sorted(set(positions))
    assert page["next_after"] == positions[-1]


async def test_walking_the_log_by_next_after_yields_every_event_once(client, job_in):
    for state in ["completed", "cancelled", "phase_running"]:
        await job_in(state)
    everything = (await ok(await client.get("/events")))["events"]

    seen, after = [], 0
    while True:
        page = await ok(await client.get("/events", params={"after": after, "limit": 2}))
        if not page["events"]:
            break
        assert len(page["events"]) <= 2
        seen += page["events"]
        after = page["next_after"]

    assert seen == everything
    assert len(everything) == 3 + 2 + 3


async def test_log_after_the_head_is_empty_and_keeps_its_place(client, create_job):
    job = await create_job()

    page = await ok(await client.get("/events", params={"after": job["position"]}))

    assert page == {"events": [], "next_after": job["position"]}


async def test_an_empty_log(client):
    assert await ok(await client.get("/events")) == {"events": [], "next_after": 0}


async def test_log_follows_concurrent_writers_without_gaps(client, job_in, send):
    jobs = [await job_in("running") for _ in range(3)]

    await asyncio.gather(*(send(job, "progress", {"percent": p}) for job in jobs for p in (1, 2, 3)))

    events = await all_events(client)
    assert len(events) == 3 * 5
    assert len({e["position"] for e in events}) == len(events)
    for job in jobs:
        assert [e["version"] for e in events if e["job_id"] == job["id"]] == [1, 2, 3, 4, 5]


async def test_health_reports_the_service_and_its_jobs(client, job_in, backend):
    for state in ["queued", "queued", "running", "completed", "cancelled", "failed"]:
        await job_in(state)

    health = await ok(await client.get("/health"))

    assert health["status"] == "ok"
    assert health["version"] == jobledger.__version__
    assert health["backend"] == BACKEND_NAMES[backend]
    counts = {status: n for status, n in health["jobs"].items() if n}
    assert counts == {"queued": 2, "running": 1, "completed": 1, "cancelled": 1, "failed": 1}
    assert isinstance(health["uptime_seconds"], int | float) and health["uptime_seconds"] >= 0


async def test_health_of_an_empty_service(client):
    health = await ok(await client.get("/health"))

    assert sum(health["jobs"].values()) == 0


async def test_uptime_grows(client):
    first = (await ok(await client.get("/health")))["uptime_seconds"]
    await asyncio.sleep(0.05)

    assert (await ok(await client.get("/health")))["uptime_seconds"] > first
