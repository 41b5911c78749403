"""Heartbeats hold the lease while a handler runs; a cancelled job or a lost lease stops it."""

import asyncio

from jobledger.sdk.worker import JobStopped
from tests.sdk.helpers import create, get, history, types, wait_for, wait_until

# A lease of 5 s, beaten every second once the last beat is answered: a beat may come up to 4 s
# late (a loaded machine: a CI run saw one over 2 s late); a job runs past two leases, which only
# heartbeats survive (the sweeper runs every 0.05 s)
LEASE = 5.0
RUN = 11.0


async def test_heartbeats_keep_a_job_alive_past_its_lease(client, make_worker):
    job = await create(client, max_attempts=2)
    worker = make_worker(lease_seconds=LEASE)

    @worker.handler("report")
    async def handle(doc, ctx):
        await asyncio.sleep(RUN)
        return "slow but done"

    make_worker.start(worker)
    done = await wait_for(client, job["id"], timeout=4 * RUN)

    assert (done["status"], done["attempts"], done["result"]) == ("completed", 1, "slow but done")
    kinds = types(await history(client, job["id"]))
    assert kinds.count("LeaseExtended") >= 3
    assert "LeaseExpired" not in kinds and "RetryScheduled" not in kinds


async def test_every_job_in_flight_gets_its_heartbeats(client, make_worker):
    """One beat loop serves every job a worker holds: jobs claimed at different moments, each
    running past two leases, all keep theirs."""
    first = await create(client, payload={"seconds": RUN})
    worker = make_worker(lease_seconds=LEASE, concurrency=8)

    @worker.handler("report")
    async def handle(doc, ctx):
        await asyncio.sleep(doc["payload"]["seconds"])
        return "done"

    make_worker.start(worker)
    await wait_for(client, first["id"], "running")
    await asyncio.sleep(0.5)
    later = [await create(client, payload={"seconds": RUN}) for _ in range(5)]
    for job in [first, *later]:
        done = await wait_for(client, job["id"], timeout=4 * RUN)
        assert (done["status"], done["attempts"]) == ("completed", 1)
        kinds = types(await history(client, job["id"]))
        assert kinds.count("LeaseExtended") >= 3
        assert "LeaseExpired" not in kinds


async def test_cancelling_a_running_job_cancels_its_handler(client, make_worker):
    job = await create(client)
    worker = make_worker(lease_seconds=0.6)
    started, stopped = asyncio.Event(), []

    @worker.handler("report")
    async def handle(doc, ctx):
        if doc["id"] != job["id"]:
            return "next job"
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError as exc:
            stopped.append(type(exc))
            raise
        return "not reached"

    make_worker.start(worker)
    await asyncio.wait_for(started.wait(), 10)
    resp = await client.post(f"/jobs/{job['id']}/cancel", json={"reason": "customer withdrew"})
    assert resp.status == 200
    done = await wait_for(client, job["id"], timeout=5)

    assert (done["status"], done["cancel_reason"]) == ("cancelled", "customer withdrew")
    await wait_until(lambda: stopped)
    assert stopped == [asyncio.CancelledError]
    assert types(await history(client, job["id"]))[-2:] == ["CancellationRequested", "JobCancelled"]
    after = await create(client)  # the worker took the next job: its slot was freed
    assert (await wait_for(client, after["id"]))["result"] == "next job"


async def test_a_report_after_cancellation_raises_job_stopped(client, make_worker):
    job = await create(client)
    worker = make_worker(lease_seconds=60)  # no heartbeat comes first: the report finds out
    started, proceed, raised = asyncio.Event(), asyncio.Event(), []

    @worker.handler("report")
    async def handle(doc, ctx):
        started.set()
        await proceed.wait()
        try:
            await ctx.progress(50)
        except JobStopped as exc:
            raised.append(str(exc))
            raise

    make_worker.start(worker)
    await asyncio.wait_for(started.wait(), 10)
    assert (await client.post(f"/jobs/{job['id']}/cancel", json={})).status == 200
    proceed.set()

    assert (await wait_for(client, job["id"]))["status"] == "cancelled"
    await wait_until(lambda: raised)
    assert raised == ["cancelled"]
    assert types(await history(client, job["id"]))[-2:] == ["CancellationRequested", "JobCancelled"]


async def test_a_worker_that_lost_its_lease_is_stopped_and_changes_nothing(client, make_worker):
    job = await create(client, max_attempts=2, retry_base_seconds=600)  # not claimed again during the test
    silent = make_worker(lease_seconds=0.3, worker_id="silent")
    silent._schedule_beat = lambda run, delay=None: None  # a worker whose heartbeats never go out
    started, proceed, outcome = asyncio.Event(), asyncio.Event(), []

    @silent.handler("report")
    async def stalled(doc, ctx):
        started.set()
        await proceed.wait()
        try:
            await ctx.progress(99, "too late")
        except JobStopped as exc:
            outcome.append(str(exc))
            raise

    make_worker.start(silent)
    await asyncio.wait_for(started.wait(), 10)
    await wait_for(client, job["id"], "queued")  # the sweeper took the job back
    proceed.set()
    await wait_until(lambda: outcome)

    assert outcome == ["lease_lost"]
    doc = await get(client, job["id"])
    assert (doc["status"], doc["progress"]) == ("queued", None)
    assert types(await history(client, job["id"])) == ["JobCreated", "JobStarted", "LeaseExpired", "RetryScheduled"]
