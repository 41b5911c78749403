"""Pausing a job type: claims leave its jobs queued (on every instance), creates still queue them,
running jobs finish, and each pause and resume is an event of the type's own stream; on both backends."""

import asyncio
import time

from jobledger.application import types as types_module
from tests.workers.helpers import WAIT, WOKEN, error_of, get_job, history, log_length, ok


async def _pause(client, name: str, **body) -> dict:
    return await ok(await client.post(f"/types/{name}/pause", json=body))


async def _resume(client, name: str) -> dict:
    return await ok(await client.post(f"/types/{name}/resume", json={}))


async def test_a_paused_types_jobs_stay_queued_and_other_types_are_claimed(create_job, claim, client):
    held = [await create_job(type="mail") for _ in range(2)]
    other = await create_job(type="render")

    answer = await _pause(client, "mail", reason="the mail API is down")

    assert answer == {"name": "mail", "status": "paused", "paused_reason": "the mail API is down", "version": 1,
                      "changed": True}
    assert await claim(types=["mail"]) == []
    assert [d["id"] for d in await claim(limit=10)] == [other["id"]]  # any type: the paused one left out
    created = await create_job(type="mail")  # creates still queue
    assert created["status"] == "queued"
    assert [(await get_job(client, j))["status"] for j in held] == ["queued", "queued"]
    assert (await ok(await client.get("/types/mail")))["status"] == "paused"


async def test_a_resume_gives_the_jobs_out_again_in_their_order(create_job, claim, client):
    low = await create_job(type="mail", priority=1)
    high = await create_job(type="mail", priority=9)
    await _pause(client, "mail")
    assert await claim(types=["mail"], limit=5) == []

    answer = await _resume(client, "mail")

    assert answer["status"] == "active" and answer["changed"] is True and answer["version"] == 2
    assert [d["id"] for d in await claim(types=["mail"], limit=5)] == [high["id"], low["id"]]


async def test_a_running_job_of_a_paused_type_finishes_normally(claimed, client, send):
    doc = await claimed(type="mail")
    await _pause(client, "mail")

    token = {"lease_token": doc["lease_token"]}
    await ok(await send(doc, "progress", {"percent": 50, **token}))
    done = await ok(await send(doc, "complete", {"result": "sent", **token}))

    assert done["status"] == "completed" and done["result"] == "sent"


async def test_a_long_polling_claim_wakes_when_the_type_resumes(create_job, client, woken_only):
    job = await create_job(type="mail")
    await _pause(client, "mail")
    body = {"worker_id": "w1", "types": ["mail"], "limit": 1, "lease_seconds": 30, "wait_seconds": WAIT}
    polling = asyncio.create_task(client.post("/workers/claim", json=body))
    await asyncio.sleep(0.5)
    assert not polling.done()

    started = time.monotonic()
    await _resume(client, "mail")
    jobs = (await ok(await polling))["jobs"]

    assert [d["id"] for d in jobs] == [job["id"]]
    assert time.monotonic() - started < WOKEN  # woken by the resume


async def test_the_pause_and_the_resume_are_events_of_the_types_history(client):
    await ok(await client.put("/types/mail", json={"max_attempts": 3}))
    await _pause(client, "mail", reason="maintenance")
    await _resume(client, "mail")

    answer = await ok(await client.get("/types/mail/events"))

    assert [e["type"] for e in answer["events"]] == ["TypeDefined", "TypePaused", "TypeResumed"]
    assert [e["version"] for e in answer["events"]] == [1, 2, 3]
    assert answer["events"][0]["data"] == {"tenant": "default", "name": "mail", "config": {"max_attempts": 3}}
    assert answer["events"][1]["data"] == {"tenant": "default", "name": "mail", "reason": "maintenance"}
    assert all(e["metadata"]["actor"] and e["job_id"] == answer["stream_id"] for e in answer["events"])
    # the type's stream is no job's
    await error_of(await client.get(f"/jobs/{answer['stream_id']}"), 404, "job_not_found")
    await error_of(await client.get(f"/jobs/{answer['stream_id']}/events"), 404, "job_not_found")
    await error_of(await client.post(f"/jobs/{answer['stream_id']}/cancel", json={}), 404, "job_not_found")


async def test_pausing_a_paused_type_changes_nothing(client):
    await _pause(client, "mail")
    before = await log_length(client)

    again = await _pause(client, "mail", reason="still down")

    assert again["changed"] is False and again["status"] == "paused" and again["paused_reason"] is None
    assert (await _resume(client, "mail"))["changed"] is True
    assert (await _resume(client, "mail"))["changed"] is False
    assert await log_length(client) == before + 1


async def test_a_new_definition_keeps_the_pause(client, claim, create_job):
    await create_job(type="mail")
    await _pause(client, "mail")

    await ok(await client.put("/types/mail", json={"max_attempts": 5}))

    assert (await ok(await client.get("/types/mail")))["status"] == "paused"
    assert await claim(types=["mail"]) == []


async def test_health_stats_and_metrics_show_the_pause(client):
    await _pause(client, "mail", reason="down")
    await _pause(client, "fax")

    health = await ok(await client.get("/health"))
    stats = await ok(await client.get("/stats"))
    metrics = await (await client.get("/metrics")).text()

    assert health["paused_types"] == [{"tenant": "default", "type": "fax", "reason": None},
                                      {"tenant": "default", "type": "mail", "reason": "down"}]
    assert stats["paused"] == ["fax", "mail"]
    assert 'jobledger_type_paused{tenant="default",type="mail"} 1.0' in metrics
    await _resume(client, "mail")
    metrics = await (await client.get("/metrics")).text()
    assert 'type="mail"' not in metrics.split("jobledger_type_paused", 1)[1].split("# HELP", 1)[0]
    assert (await ok(await client.get("/stats")))["paused"] == ["fax"]


async def test_another_instance_stops_giving_out_the_jobs(create_job, client, service_with, backend, monkeypatch):
    if backend == "postgres":  # only the log's word can reach the other instance: its cache of the types never runs out
        monkeypatch.setattr(types_module, "_CACHE_SECONDS", 3600.0)
    other = await service_with()
    await ok(await client.put("/types/mail", json={}))
    await create_job(type="mail")
    assert (await ok(await other.get("/types/mail")))["status"] == "active"  # the other instance has it cached

    await _pause(client, "mail")

    # PostgreSQL: the other instance reads the pause from the log; SQLite serves one process,
    # so a second instance on its file sees it when its cache of the types runs out (2 s)
    deadline = time.monotonic() + 15
    while (await ok(await other.get("/types/mail")))["status"] != "paused":
        assert time.monotonic() < deadline, "the other instance never saw the pause"
        await asyncio.sleep(0.05)
    body = {"worker_id": "w2", "types": ["mail"], "limit": 1, "lease_seconds": 30}
    assert (await ok(await other.post("/workers/claim", json=body)))["jobs"] == []
    await _resume(client, "mail")
    deadline = time.monotonic() + 15
    while not (await ok(await other.post("/workers/claim", json=body)))["jobs"]:
        assert time.monotonic() < deadline, "the other instance never saw the resume"
        await asyncio.sleep(0.05)


async def test_bad_pause_requests_are_400_and_write_nothing(client, log_unchanged):
    async with log_unchanged():
        details = await error_of(await client.post("/types/mail/pause", json={"reason": "x" * 1001}), 400, "invalid_request")
        assert details["fields"][0]["field"] == "reason"
        details = await error_of(await client.post("/types/mail/pause", json={"colour": 1}), 400, "invalid_request")
        assert details["fields"][0]["field"] == "colour"
        details = await error_of(await client.post(f"/types/{'n' * 201}/pause", json={}), 400, "invalid_request")
        assert details["fields"][0]["field"] == "name"
        await error_of(await client.post("/types/mail/resume", json={"reason": "x"}), 400, "invalid_request")
    await error_of(await client.get("/types/never/events"), 404, "type_not_found")


async def test_the_log_with_type_events_still_rebuilds_verifies_and_streams(client, create_job, claim):
    job = await create_job(type="mail")
    await _pause(client, "mail")
    await _resume(client, "mail")
    [doc] = await claim(types=["mail"])
    await ok(await client.post(f"/jobs/{doc['id']}/complete", json={"lease_token": doc["lease_token"]}))

    page = await ok(await client.get("/events", params={"after": 0}))
    assert [e["type"] for e in page["events"]][:3] == ["JobCreated", "TypePaused", "TypeResumed"]
    assert (await ok(await client.get(f"/jobs/{job['id']}/verify")))["ok"] is True
    assert [e["type"] for e in await history(client, job)][-1] == "JobCompleted"
