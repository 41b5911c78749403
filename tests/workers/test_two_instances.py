"""A worker's calls on one instance while another instance changes its job.

An instance keeps the running jobs it last wrote, to decide a worker's next call without
reading the job first. Another instance may have moved the job on since: these tests
make sure that what this instance answers is what the log says, not what it remembers.
Instance A never sweeps; instance B sweeps (and cancels, and claims) in its place.
"""

from tests.workers.helpers import error_of, get_job, history, log_length, ok, wait_for_events


async def _claim(client, worker_id: str, lease_seconds: float = 30) -> dict:
    body = {"worker_id": worker_id, "types": ["task"], "lease_seconds": lease_seconds}
    [job] = (await ok(await client.post("/workers/claim", json=body)))["jobs"]
    return job


async def _claimed_on_a(service_with):
    """Instances A and B (neither sweeps) and a job claimed on A: (a, b, job)."""
    a = await service_with(sweep_interval=3600)
    b = await service_with(sweep_interval=3600)
    await ok(await a.post("/jobs", json={"type": "task"}), 201)
    return a, b, await _claim(a, "w1")


async def test_a_token_another_instance_handed_out_is_accepted_and_the_old_one_refused(service_with):
    a = await service_with(sweep_interval=3600)
    b = await service_with()
    created = await ok(await a.post("/jobs", json={"type": "task", "max_attempts": 3, "retry_base_seconds": 0}), 201)
    first = await _claim(a, "slow", lease_seconds=0.2)  # A keeps the job as its claim wrote it
    await wait_for_events(b, created, "LeaseExpired", "RetryScheduled")  # B's sweeper
    second = await _claim(b, "fast")

    # A last wrote the job under the first lease (its claim); the second worker's token is the valid one now
    doc = await ok(await a.post(f"/jobs/{second['id']}/progress", json={"percent": 50, "lease_token": second["lease_token"]}))
    before = await log_length(a)
    stale = await a.post(f"/jobs/{first['id']}/progress", json={"percent": 90, "lease_token": first["lease_token"]})

    await error_of(stale, 409, "lease_lost")
    assert await log_length(a) == before
    assert (doc["worker_id"], doc["attempts"], doc["progress"]["percent"]) == ("fast", 2, 50)
    assert (await get_job(b, created))["progress"]["percent"] == 50


async def test_a_cancel_through_another_instance_ends_the_job_at_the_workers_next_call(service_with):
    a, b, job = await _claimed_on_a(service_with)
    token = {"lease_token": job["lease_token"]}
    await ok(await a.post(f"/jobs/{job['id']}/heartbeat", json=token))

    await ok(await b.post(f"/jobs/{job['id']}/cancel", json={"reason": "withdrawn"}))
    doc = await ok(await a.post(f"/jobs/{job['id']}/heartbeat", json=token))

    assert (doc["status"], doc["cancel_reason"]) == ("cancelled", "withdrawn")
    assert [e["type"] for e in await history(a, job)] == [
        "JobCreated", "JobStarted", "LeaseExtended", "CancellationRequested", "JobCancelled",
    ]


async def test_a_job_another_instance_finished_is_not_finished_again(service_with):
    a, b, job = await _claimed_on_a(service_with)
    token = {"lease_token": job["lease_token"]}
    await ok(await a.post(f"/jobs/{job['id']}/progress", json={"percent": 10, **token}))

    await ok(await b.post(f"/jobs/{job['id']}/complete", json={"result": "from b", **token}))
    before = await log_length(a)
    again = await a.post(f"/jobs/{job['id']}/complete", json={"result": "from a", **token})

    details = await error_of(again, 409, "lease_lost")  # completed through B: no lease is held any more
    assert details["status"] == "completed"
    assert await log_length(a) == before
    assert (await get_job(a, job))["result"] == "from b"


async def test_a_second_cancel_after_another_instance_ended_the_job_answers_what_the_log_says(service_with):
    a, b, job = await _claimed_on_a(service_with)
    await ok(await a.post(f"/jobs/{job['id']}/cancel", json={"reason": "first ask"}))  # A: running, cancel asked

    await ok(await b.post(f"/jobs/{job['id']}/heartbeat", json={"lease_token": job["lease_token"]}))  # B ends it
    before = await log_length(a)
    again = await a.post(f"/jobs/{job['id']}/cancel", json={"reason": "second ask"})

    body = await again.json()
    assert again.status == 409, body  # a cancelled job, not the running one A last wrote
    assert body["error"]["details"]["status"] == "cancelled"
    assert await log_length(a) == before
