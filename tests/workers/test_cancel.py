"""Cancelling a claimed job: asked now, ended at the worker's next call or when its lease runs out."""

import pytest

from tests.workers.helpers import error_of, get_job, history, ok, types_of, wait_for_events

WORKER_CALLS = [
    ("heartbeat", {}),
    ("progress", {"percent": 70}),
    ("phases/research/start", {}),
    ("artifacts", {"name": "partial", "data": [1, 2]}),
    ("complete", {"result": "done anyway"}),
    ("fail", {"error": "late", "retryable": True}),
]


async def _cancel(client, job: dict, how: str, reason: str = "customer withdrew", actor: str = "alice"):
    path = f"/jobs/{job['id']}" + ("/cancel" if how == "POST" else "")
    return await client.request(how, path, json={"reason": reason}, headers={"X-Actor": actor})


@pytest.mark.parametrize("how", ["POST", "DELETE"])
async def test_cancelling_a_claimed_job_records_who_asked_and_why(client, claimed, how):
    job = await claimed(phases=["research"])

    doc = await ok(await _cancel(client, job, how))

    last = (await history(client, job))[-1]
    assert last["type"] == "CancellationRequested"
    assert last["data"] == {"reason": "customer withdrew", "cancelled_by": "api"}
    # the open mode acts as "api"; X-Actor is whom it acts for, never the actor (tests/security/test_actor.py)
    assert (last["metadata"]["actor"], last["metadata"]["on_behalf_of"]) == ("api", "alice")
    assert (doc["status"], doc["cancel_requested"], doc["cancel_reason"]) == ("running", True, "customer withdrew")
    assert doc["cancelled_by"] == "api"


@pytest.mark.parametrize(("action", "body"), WORKER_CALLS)
async def test_the_workers_next_call_answers_200_cancelled_and_records_nothing_else(client, claimed, send, action, body):
    job = await claimed(phases=["research"], max_attempts=3)
    await ok(await _cancel(client, job, "POST"))

    doc = await ok(await send(job, action, {**body, "lease_token": job["lease_token"]}))

    events = await history(client, job)
    assert [e["type"] for e in events] == ["JobCreated", "JobStarted", "CancellationRequested", "JobCancelled"]
    assert events[-1]["data"] == {"reason": "customer withdrew", "cancelled_by": "api"}
    assert (doc["status"], doc["version"], doc["lease_token_hash"]) == ("cancelled", 4, None)
    assert doc["result"] is None and doc["artifacts"] == [] and doc["progress"] is None


async def test_after_cancelling_the_workers_lease_no_longer_changes_the_job(client, claimed, send, log_unchanged):
    job = await claimed()
    await ok(await _cancel(client, job, "POST"))
    await ok(await send(job, "heartbeat", {"lease_token": job["lease_token"]}))

    async with log_unchanged():
        response = await send(job, "complete", {"lease_token": job["lease_token"]})

    assert response.status == 409
    assert (await get_job(client, job))["status"] == "cancelled"


async def test_a_cancelled_call_with_a_wrong_token_is_still_lease_lost(client, claimed, send, log_unchanged):
    job = await claimed()
    await ok(await _cancel(client, job, "POST"))

    async with log_unchanged():
        await error_of(await send(job, "progress", {"percent": 1, "lease_token": "stolen"}), 409, "lease_lost")

    assert (await get_job(client, job))["status"] == "running"


async def test_a_second_cancel_request_records_nothing_more(client, claimed, log_unchanged):
    job = await claimed()
    await ok(await _cancel(client, job, "POST"))

    async with log_unchanged():
        doc = await ok(await _cancel(client, job, "DELETE", reason="again", actor="bob"))

    assert (doc["cancel_reason"], doc["cancelled_by"]) == ("customer withdrew", "api")


async def test_a_worker_that_never_answers_ends_the_job_cancelled_when_its_lease_runs_out(client, claimed, claim):
    job = await claimed(worker_id="silent", lease_seconds=0.3, max_attempts=5, retry_base_seconds=0)
    await ok(await _cancel(client, job, "POST"))

    events = await wait_for_events(client, job, "LeaseExpired", "JobCancelled")

    assert [e["type"] for e in events] == ["JobCreated", "JobStarted", "CancellationRequested", "LeaseExpired", "JobCancelled"]
    assert events[-2]["data"] == {"worker_id": "silent", "attempt": 1}
    assert events[-1]["data"] == {"reason": "customer withdrew", "cancelled_by": "api"}
    assert (await get_job(client, job))["status"] == "cancelled"
    assert await claim(limit=10) == []


@pytest.mark.parametrize("how", ["POST", "DELETE"])
async def test_a_queued_job_is_cancelled_at_once_and_never_claimed(client, create_job, claim, how):
    job = await create_job()

    doc = await ok(await _cancel(client, job, how, actor="bob"))

    assert (doc["status"], doc["cancelled_by"], doc["cancel_reason"]) == ("cancelled", "api", "customer withdrew")
    assert await types_of(client, job) == ["JobCreated", "JobCancelled"]
    assert await claim(limit=10) == []
