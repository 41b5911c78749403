"""Two service instances on one PostgreSQL, both dispatching from the log and both sending: every
delivery reaches the endpoint once, and each job's events in log order."""

import asyncio

import pytest

from tests.webhooks.conftest import arrived, make_webhook
from tests.workers.helpers import ok

JOBS = 30


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_instances_send_each_delivery_once_and_each_jobs_events_in_order(serve, hook_settings, receiver):
    # an attempt that times out is sent again (at least once): a timeout far past any stall of a
    # loaded machine keeps this test to what two instances do, each delivery claimed by one of them
    settings = hook_settings.model_copy(update={"webhook_timeout": 10.0})
    first, second = await serve(settings), await serve(settings)
    receiver.delay["both"] = 0.01  # attempts overlap, so both senders claim while the other holds leases
    await make_webhook(first, receiver, "both")

    async def run(client, n: int) -> str:
        job = await ok(await client.post("/jobs", json={"type": "report", "payload": {"n": n}}), 201)
        await ok(await client.post(f"/jobs/{job['id']}/start", json={}))
        await ok(await client.post(f"/jobs/{job['id']}/complete", json={}))
        return job["id"]

    jobs = await asyncio.gather(*(run((first, second)[n % 2], n) for n in range(JOBS)))

    bodies = await arrived(receiver, "both", 3 * JOBS, timeout=30)
    ids = [r["headers"]["webhook-id"] for r in receiver.received["both"]]
    assert len(ids) == len(set(ids)) == 3 * JOBS  # none twice
    for job_id in jobs:
        assert [b["type"] for b in bodies if b["job_id"] == job_id] == ["JobCreated", "JobStarted", "JobCompleted"]
    assert all(r["verified"] for r in receiver.received["both"])
