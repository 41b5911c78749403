"""Issue 25, point 7: a queued job shows a message while it waits, and stays queued and claimable.

A queued job's progress is a message (and details) with no percent and no lease_token: nothing
about it may look started. A create can carry the first message. Phases stay running-only.
"""

import pytest

from tests.service.helpers import bad_fields, error_of, ok

WAITING = {"message": "waiting for a slot", "details": {"ahead": 3}}


async def test_a_queued_job_reports_a_message_and_stays_queued(client, create_job, send):
    job = await create_job()

    answered = await ok(await send(job, "progress", WAITING))
    fetched = await ok(await client.get(f"/jobs/{job['id']}"))
    history = (await ok(await client.get(f"/jobs/{job['id']}/events")))["events"]

    assert fetched == answered
    assert (fetched["status"], fetched["version"], fetched["attempts"]) == ("queued", 2, 0)
    assert fetched["started_at"] is None and fetched["worker_id"] is None
    assert fetched["progress"] == {**WAITING, "percent": None, "reported_at": history[-1]["recorded_at"]}
    assert [e["type"] for e in history] == ["JobCreated", "ProgressReported"]
    assert history[-1]["data"] == {"percent": None, **WAITING}


async def test_a_job_that_reported_while_queued_is_claimed_as_before(client, create_job, send):
    job = await create_job(type="slotted")
    await ok(await send(job, "progress", {"message": "waiting for a GPU"}))

    [claimed] = (await ok(await client.post("/workers/claim", json={"worker_id": "w1", "types": ["slotted"]})))["jobs"]

    assert (claimed["id"], claimed["status"], claimed["attempts"]) == (job["id"], "running", 1)
    assert claimed["progress"] is None  # an attempt starts its progress afresh
    running = await ok(await send(claimed, "progress", {"percent": 10, "lease_token": claimed["lease_token"]}))
    assert (running["status"], running["progress"]["percent"]) == ("running", 10)


async def test_a_tracked_job_starts_after_its_waiting_messages(create_job, send):
    job = await create_job(phases=["research"])
    for message in ("waiting for upload", "waiting for a slot"):
        job = await ok(await send(job, "progress", {"message": message}))

    assert (job["status"], job["progress"]["message"], job["version"]) == ("queued", "waiting for a slot", 3)
    started = await ok(await send(job, "start"))
    assert (started["status"], started["progress"]) == ("running", None)


async def test_a_create_shows_its_message_from_the_start(client, create_job):
    job = await create_job(message="waiting for upload")
    history = (await ok(await client.get(f"/jobs/{job['id']}/events")))["events"]

    assert job["status"] == "queued"
    assert job["progress"] == {"percent": None, "message": "waiting for upload", "details": None,
                               "reported_at": job["created_at"]}
    assert [e["type"] for e in history] == ["JobCreated"]
    assert (history[0]["schema_version"], history[0]["data"]["message"]) == (4, "waiting for upload")
    assert (await create_job())["progress"] is None


async def test_each_job_of_a_batch_carries_its_own_message(client):
    body = {"jobs": [{"type": "report", "message": "waiting for upload"}, {"type": "report"}]}
    first, second = (await ok(await client.post("/jobs/batch", json=body), 201))["jobs"]

    assert (first["progress"]["message"], first["progress"]["percent"]) == ("waiting for upload", None)
    assert second["progress"] is None
    assert (await ok(await client.get(f"/jobs/{first['id']}")))["progress"] == first["progress"]


async def test_a_bad_message_in_a_batch_names_its_job_and_writes_nothing(client, unchanged):
    body = {"jobs": [{"type": "report", "message": "ok"}, {"type": "report", "message": "m" * 10_001}]}
    async with unchanged():
        assert await bad_fields(await client.post("/jobs/batch", json=body)) == ["jobs.1.message"]


async def test_a_queued_job_has_no_lease_to_report_under(create_job, send, unchanged):
    job = await create_job()
    async with unchanged():
        details = await error_of(await send(job, "progress", {**WAITING, "lease_token": "made-up"}), 409, "lease_lost")
    assert details["status"] == "queued"


async def test_a_queued_job_reports_no_percent(create_job, send, unchanged):
    job = await create_job()
    async with unchanged():
        answer = await send(job, "progress", {"percent": 0, **WAITING})
        details = await error_of(answer, 409, "illegal_transition")
    assert (details["status"], details["transition"], details["version"]) == ("queued", "progress", 1)
    message = (await answer.json())["error"]["message"]
    assert message == "percent: a queued job reports a message, not a percent: send percent once it runs"


@pytest.mark.parametrize("action", ["phases/research/start", "phases/research/complete", "complete"])
async def test_a_queued_job_still_cannot_start_a_phase_or_finish(create_job, send, unchanged, action):
    job = await create_job(phases=["research"])
    await ok(await send(job, "progress", WAITING))
    async with unchanged():
        details = await error_of(await send(job, action), 409, "illegal_transition")
    assert details["status"] == "queued"


@pytest.mark.parametrize("state", ["completed", "failed", "cancelled"])
@pytest.mark.parametrize("body", [WAITING, {"percent": 50}], ids=["message", "percent"])
async def test_a_finished_job_takes_no_progress(job_in, send, unchanged, state, body):
    job = await job_in(state)
    async with unchanged():
        details = await error_of(await send(job, "progress", body), 409, "illegal_transition")
    assert (details["status"], details["transition"]) == (state, "progress")
