"""Retries: backoff after a retryable failure, failure for good, the dead-letter list, retry by hand."""

import pytest

from tests.workers.helpers import at, error_of, get_job, history, ok, seconds_between, types_of, wait_until


async def _fail(send, job: dict, retryable: bool = True, error="boom") -> dict:
    return await ok(await send(job, "fail", {"error": error, "retryable": retryable, "lease_token": job["lease_token"]}))


async def _retry_delay(client, job: dict) -> tuple[dict, float]:
    """The last RetryScheduled event and its delay after it was recorded."""
    last = (await history(client, job))[-1]
    assert last["type"] == "RetryScheduled"
    return last, seconds_between(last["recorded_at"], last["data"]["run_at"])


async def test_a_retryable_failure_with_attempts_left_schedules_a_retry_after_backoff(client, claimed, send):
    job = await claimed(max_attempts=3, retry_base_seconds=4, retry_max_seconds=100)

    doc = await _fail(send, job, error={"code": "timeout"})

    retry, delay = await _retry_delay(client, job)
    assert retry["data"]["attempt"] == 1 and retry["data"]["error"] == {"code": "timeout"}
    assert retry["data"]["manual"] is False
    assert 2 <= delay <= 4
    assert (doc["status"], doc["run_at"], doc["attempts"]) == ("queued", retry["data"]["run_at"], 1)
    assert (doc["lease_token_hash"], doc["lease_expires_at"]) == (None, None)


async def test_the_backoff_doubles_per_attempt_up_to_retry_max_seconds(client, create_job, claim, send):
    job = await create_job(max_attempts=4, retry_base_seconds=0.2, retry_max_seconds=0.6)
    delays = []
    for _ in range(3):
        [held] = await wait_until(lambda: claim(), timeout=5)
        await _fail(send, held)
        delays.append((await _retry_delay(client, job))[1])

    assert 0.1 <= delays[0] <= 0.2
    assert 0.2 <= delays[1] <= 0.4
    assert 0.3 <= delays[2] <= 0.6
    assert [e["data"]["attempt"] for e in await history(client, job) if e["type"] == "JobStarted"] == [1, 2, 3]


async def test_the_backoff_never_exceeds_retry_max_seconds(client, claimed, send):
    job = await claimed(max_attempts=2, retry_base_seconds=10, retry_max_seconds=3)

    await _fail(send, job)

    assert 1.5 <= (await _retry_delay(client, job))[1] <= 3


async def test_a_retried_job_is_claimable_only_from_its_run_at(client, claimed, claim, send):
    job = await claimed(max_attempts=2, retry_base_seconds=1.2)
    await _fail(send, job)
    retry, delay = await _retry_delay(client, job)

    assert delay >= 0.6
    assert await claim() == []
    [again] = await wait_until(lambda: claim("w2"), timeout=5)

    started = (await history(client, job))[-1]
    assert again["id"] == job["id"] and again["attempts"] == 2
    assert started["type"] == "JobStarted" and started["data"]["attempt"] == 2
    assert at(started["recorded_at"]) >= at(retry["data"]["run_at"])


@pytest.mark.parametrize(("max_attempts", "retryable"), [(1, True), (3, False)])
async def test_no_attempt_left_or_not_retryable_fails_for_good(client, claimed, claim, send, max_attempts, retryable):
    job = await claimed(max_attempts=max_attempts, retry_base_seconds=0)

    doc = await _fail(send, job, retryable, error="fatal")

    assert (doc["status"], doc["error"]) == ("failed", "fatal")
    assert await types_of(client, job) == ["JobCreated", "JobStarted", "JobFailed"]
    assert await claim() == []


async def test_the_type_sets_the_backoff_when_the_job_leaves_it_out(client, create_job, claim, send):
    await ok(await client.put("/types/flaky", json={"max_attempts": 5, "retry_base_seconds": 30, "retry_max_seconds": 40}))
    job = await create_job(type="flaky")
    [held] = await claim(types=["flaky"])

    await _fail(send, held)

    _, delay = await _retry_delay(client, job)
    assert (job["max_attempts"], job["retry_base_seconds"], job["retry_max_seconds"]) == (5, 30, 40)
    assert 15 <= delay <= 30


async def test_get_jobs_status_failed_is_the_dead_letter_list(client, claimed, create_job, send):
    dead = [await claimed(type="a"), await claimed(type="b")]
    for job in dead:
        await _fail(send, job, retryable=False)
    retrying = await claimed(type="c", max_attempts=2, retry_base_seconds=60)
    await _fail(send, retrying)
    await create_job(type="d")

    listed = (await ok(await client.get("/jobs", params={"status": "failed"})))["jobs"]

    assert sorted(j["id"] for j in listed) == sorted(j["id"] for j in dead)
    assert {j["status"] for j in listed} == {"failed"}


async def test_retry_by_hand_requeues_a_failed_job_keeping_its_history(client, claimed, claim, send):
    job = await claimed(max_attempts=1)
    await _fail(send, job, error="broken input")

    doc = await ok(await send(job, "retry", {"reason": "input fixed"}, {"X-Actor": "ops:maria"}))

    events = await history(client, job)
    retry = events[-1]
    assert [e["type"] for e in events] == ["JobCreated", "JobStarted", "JobFailed", "RetryScheduled"]
    assert retry["data"]["manual"] is True and retry["data"]["requested_by"] == "api"  # the open mode's actor
    assert retry["metadata"]["on_behalf_of"] == "ops:maria"  # X-Actor is a claim, kept apart from who acted
    assert retry["data"]["attempt"] == 1 and retry["data"]["error"] == "broken input"
    assert doc["status"] == "queued" and doc["max_attempts"] >= 2
    [again] = await claim("w2")
    assert again["id"] == job["id"] and again["attempts"] == 2
    await ok(await send(again, "complete", {"lease_token": again["lease_token"]}))
    assert (await types_of(client, job))[-2:] == ["JobStarted", "JobCompleted"]


@pytest.mark.parametrize("state", ["queued", "running", "completed", "cancelled"])
async def test_retry_by_hand_is_refused_unless_the_job_failed(client, create_job, send, log_unchanged, state):
    job = await create_job()
    for action in {"queued": [], "running": ["start"], "completed": ["start", "complete"], "cancelled": ["cancel"]}[state]:
        await ok(await send(job, action))

    async with log_unchanged():
        details = await error_of(await send(job, "retry"), 409, "illegal_transition")

    assert details["status"] == state
    assert (await get_job(client, job))["status"] == state
