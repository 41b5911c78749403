"""Leases: heartbeats extend them; only the current holder may report; the sweeper takes back expired ones."""

import asyncio

import pytest

from tests.workers.helpers import (
    at,
    error_of,
    get_job,
    history,
    log_length,
    ok,
    seconds_between,
    types_of,
    wait_for_events,
)

REPORTS = [
    ("heartbeat", {}),
    ("progress", {"percent": 40, "message": "halfway"}),
    ("phases/research/start", {}),
    ("artifacts", {"name": "out", "data": {"rows": 3}}),
    ("complete", {"result": {"ok": True}}),
    ("fail", {"error": "boom", "retryable": True}),
    ("release", {"reason": "shutting down"}),
]


async def test_a_heartbeat_moves_the_lease_forward_and_records_lease_extended(client, claimed, send):
    job = await claimed(lease_seconds=5)

    renewed = await ok(await send(job, "heartbeat", {"lease_token": job["lease_token"], "lease_seconds": 120}))

    last = (await history(client, job))[-1]
    assert last["type"] == "LeaseExtended"
    assert last["data"] == {"lease_expires_at": renewed["lease_expires_at"]}
    assert at(renewed["lease_expires_at"]) > at(job["lease_expires_at"])
    assert seconds_between(last["recorded_at"], renewed["lease_expires_at"]) == pytest.approx(120, abs=0.01)
    assert (renewed["status"], renewed["version"]) == ("running", job["version"] + 1)


async def test_a_heartbeat_without_lease_seconds_renews_for_the_types_lease(client, create_job, claim, send):
    await ok(await client.put("/types/slow", json={"lease_seconds": 600}))
    await create_job(type="slow")
    [job] = await claim(types=["slow"], lease_seconds=5)

    renewed = await ok(await send(job, "heartbeat", {"lease_token": job["lease_token"]}))

    last = (await history(client, job))[-1]
    assert seconds_between(last["recorded_at"], renewed["lease_expires_at"]) == pytest.approx(600, abs=0.01)


@pytest.mark.parametrize(("action", "body"), REPORTS)
async def test_a_report_with_another_workers_token_is_lease_lost_and_changes_nothing(
    client, claimed, send, log_unchanged, action, body
):
    job = await claimed(phases=["research"], max_attempts=3)

    async with log_unchanged():
        details = await error_of(await send(job, action, {**body, "lease_token": "not-my-lease"}), 409, "lease_lost")

    assert (details["job_id"], details["status"]) == (job["id"], "running")
    assert (await get_job(client, job))["version"] == job["version"]


@pytest.mark.parametrize(("action", "body"), [r for r in REPORTS if r[0] not in ("heartbeat", "release")])
async def test_a_report_without_a_token_on_a_leased_job_is_lease_lost(client, claimed, send, log_unchanged, action, body):
    job = await claimed(phases=["research"], max_attempts=3)

    async with log_unchanged():
        await error_of(await send(job, action, body), 409, "lease_lost")


@pytest.mark.parametrize("action", ["heartbeat", "release"])
async def test_a_heartbeat_or_release_without_a_token_is_refused(claimed, send, log_unchanged, action):
    job = await claimed()

    async with log_unchanged():
        details = await error_of(await send(job, action, {}), 400, "invalid_request")

    assert [f["field"] for f in details["fields"]] == ["lease_token"]


@pytest.mark.parametrize(("action", "body"), REPORTS)
async def test_a_worker_whose_lease_was_taken_over_is_lease_lost(client, claimed, claim, send, log_unchanged, action, body):
    first = await claimed(worker_id="slow", lease_seconds=0.2, phases=["research"], max_attempts=3, retry_base_seconds=0)
    await wait_for_events(client, first, "LeaseExpired", "RetryScheduled")
    [second] = await claim("fast", types=["task"])

    async with log_unchanged():
        await error_of(await send(first, action, {**body, "lease_token": first["lease_token"]}), 409, "lease_lost")

    assert second["id"] == first["id"] and second["attempts"] == 2
    await ok(await send(second, action, {**body, "lease_token": second["lease_token"]}))


async def test_an_expired_lease_not_yet_swept_is_lease_lost_and_not_claimable(service_with):
    client = await service_with(sweep_interval=3600)
    await ok(await client.post("/jobs", json={"type": "task", "max_attempts": 2}), 201)
    body = {"worker_id": "w", "lease_seconds": 0.2}
    [job] = (await ok(await client.post("/workers/claim", json=body)))["jobs"]
    await asyncio.sleep(0.3)

    before = (await get_job(client, job), await log_length(client))
    progress = await client.post(f"/jobs/{job['id']}/progress", json={"percent": 5, "lease_token": job["lease_token"]})
    details = await error_of(progress, 409, "lease_lost")
    again = (await ok(await client.post("/workers/claim", json=body)))["jobs"]

    assert "expired" in (await progress.json())["error"]["message"]
    assert details["status"] == "running" and again == []
    assert (await get_job(client, job), await log_length(client)) == before


async def test_the_sweeper_turns_an_expired_lease_into_lease_expired_then_a_retry(client, claimed):
    job = await claimed(worker_id="gone", lease_seconds=0.2, max_attempts=2)

    events = await wait_for_events(client, job, "LeaseExpired", "RetryScheduled")

    expired, retry = events[-2:]
    assert expired["data"] == {"worker_id": "gone", "attempt": 1}
    assert expired["metadata"]["actor"] == retry["metadata"]["actor"] == "sweeper"
    assert retry["data"]["attempt"] == 1 and retry["data"]["error"]["code"] == "lease_expired"
    assert at(expired["recorded_at"]) >= at(job["lease_expires_at"])
    doc = await get_job(client, job)
    assert (doc["status"], doc["lease_expires_at"], doc["lease_token_hash"]) == ("queued", None, None)


async def test_an_expired_lease_on_the_last_attempt_fails_the_job(client, claimed):
    job = await claimed(lease_seconds=0.2, max_attempts=1)

    await wait_for_events(client, job, "LeaseExpired", "JobFailed")

    doc = await get_job(client, job)
    assert doc["status"] == "failed" and doc["error"]["code"] == "lease_expired"


async def test_heartbeats_keep_a_short_lease_alive_past_its_first_expiry(client, claimed, send):
    job = await claimed(lease_seconds=0.6)

    for _ in range(4):
        await asyncio.sleep(0.2)
        await ok(await send(job, "heartbeat", {"lease_token": job["lease_token"], "lease_seconds": 0.6}))
    await ok(await send(job, "complete", {"lease_token": job["lease_token"]}))

    assert "LeaseExpired" not in await types_of(client, job)
    assert (await get_job(client, job))["status"] == "completed"


async def test_a_released_job_is_queued_at_once_and_its_attempt_does_not_count(client, claimed, claim, send):
    job = await claimed(worker_id="leaving", max_attempts=1)

    released = await ok(await send(job, "release", {"lease_token": job["lease_token"], "reason": "shutting down"}))

    last = (await history(client, job))[-1]
    assert (last["type"], last["data"]) == ("JobReleased", {"worker_id": "leaving", "attempt": 1, "reason": "shutting down"})
    assert (released["status"], released["attempts"], released["lease_expires_at"]) == ("queued", 0, None)
    [again] = await claim("next")  # max_attempts=1, yet claimable: the released attempt did not count
    assert (again["id"], again["attempts"], again["worker_id"]) == (job["id"], 1, "next")
    await error_of(await send(job, "progress", {"percent": 1, "lease_token": job["lease_token"]}), 409, "lease_lost")
    done = await ok(await send(again, "complete", {"lease_token": again["lease_token"]}))
    assert done["status"] == "completed"


async def test_releasing_a_job_whose_cancel_was_asked_cancels_it(client, claimed, send):
    job = await claimed()
    await ok(await send(job, "cancel", {"reason": "enough"}))

    doc = await ok(await send(job, "release", {"lease_token": job["lease_token"]}))

    assert doc["status"] == "cancelled"
    assert (await types_of(client, job))[-2:] == ["CancellationRequested", "JobCancelled"]


async def test_a_tracked_job_has_no_lease_to_release(client, create_job, send, log_unchanged):
    job = await create_job()
    await ok(await send(job, "start"))

    async with log_unchanged():
        await error_of(await send(job, "release", {"lease_token": "any"}), 409, "lease_lost")
