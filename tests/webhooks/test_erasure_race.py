"""A purge racing a dispatcher behind the log (another instance's, or this one's under load): the
dispatcher read the job's events with their data, the purge rewrote the log and the deliveries
queued so far, then the dispatcher queues its own. What it queues must hold none of the data."""

import asyncio
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from jobledger.application import erasure, storage, webhook_delivery
from jobledger.eventlog.postgres import webhooks as pg_webhooks
from jobledger.eventlog.records import Delivery
from tests.webhooks.conftest import arrived, make_webhook
from tests.workers.helpers import ok

SECRET = "ssn 123-45-6789"


async def test_deliveries_queued_from_events_read_before_a_purge_hold_none_of_its_data(hooks_client, receiver, store):
    types = ["JobCreated", "JobCancelled"]
    await make_webhook(hooks_client, receiver, "early", event_types=types)
    job = await ok(await hooks_client.post("/jobs", json={"type": "report", "payload": {"who": SECRET}}), 201)
    await ok(await hooks_client.post(f"/jobs/{job['id']}/cancel", json={"reason": SECRET}))
    assert SECRET in (await arrived(receiver, "early", 2))[0]["data"]["payload"]["who"]
    read_before = await store.log.read_stream(UUID(job["id"]))  # as the late dispatcher read them

    await ok(await hooks_client.post(f"/jobs/{job['id']}/purge", json={"reason": "asked"}))
    hook = await make_webhook(hooks_client, receiver, "late", event_types=types)  # a table holds one delivery of an event to an endpoint
    late = [
        Delivery(f"msg_late_{e.position}", hook["id"], e.stream_id, e.position, e.type, webhook_delivery.body(e, "report"))
        for e in read_before if e.type in ("JobCreated", "JobCancelled")
    ]
    assert all(SECRET in d.body for d in late)
    queued = None
    while queued is None:  # None: the service's own dispatcher moved the checkpoint meanwhile; read it again
        head, now = await store.webhooks.dispatched(), datetime.now(UTC)
        queued = await store.webhooks.enqueue(head, head, late, now, now, {hook["id"]: 0}, erasure.delivery_body)

    assert queued == []  # none leased to the caller (no room): the service's sender claims them
    sent = await arrived(receiver, "late", 2)  # the service's sender sends what was queued
    assert [b["type"] for b in sent] == ["JobCreated", "JobCancelled"]
    assert all(SECRET.encode() not in r["body"] for r in receiver.received["late"])
    assert sent[0]["data"]["payload"] is None and sent[0]["job_id"] == job["id"]


async def test_an_erasure_of_deliveries_waits_for_a_dispatcher_queueing_the_jobs(pg_url):
    """PostgreSQL: the erasure's rewrite and a dispatcher's enqueue of the same job exclude each
    other, so the rewrite sees every delivery the enqueue adds (or the enqueue sees the erasure)."""
    stores = await storage.open_stores(pg_url)
    job_id = UUID(int=7)
    conn = await asyncpg.connect(pg_url)
    try:
        async with conn.transaction():  # a dispatcher between its check of the job and its commit
            await conn.execute(pg_webhooks._SHARE_JOBS, [job_id])
            rewrite = asyncio.create_task(stores.webhooks.redact_bodies(job_id, erasure.delivery_body))
            await asyncio.sleep(0.3)
            assert not rewrite.done()
        assert await asyncio.wait_for(rewrite, 5) == 0
    finally:
        await conn.close()
        await stores.close()


async def test_a_dispatcher_takes_its_jobs_locks_in_one_order(pg_url):
    """PostgreSQL: two enqueues (two instances' dispatchers at the same checkpoint), each queued
    behind an erasure's lock that the other holds a share of, would wait for each other if they took
    their buckets in different orders. Every enqueue takes them in ascending order: held behind
    all of its buckets, it waits first for the lowest."""
    jobs = [UUID(int=n * 0x9E3779B97F4A7C15) for n in range(1, 41)]  # fixed ids over many buckets
    conn, holder = await asyncpg.connect(pg_url), await asyncpg.connect(pg_url)
    try:
        hashed = await conn.fetch("SELECT uuid_hash(j) & 255 AS b FROM unnest($1::uuid[]) AS j", jobs)
        buckets = sorted({r["b"] for r in hashed})
        assert len(buckets) > 20
        async with holder.transaction():  # an erasure on each bucket
            for b in buckets:
                await holder.execute("SELECT pg_advisory_xact_lock($1, $2)", pg_webhooks._JOB_LOCK_CLASS, b)

            async def enqueue():
                async with conn.transaction():
                    await conn.execute(pg_webhooks._SHARE_JOBS, jobs)

            queued = asyncio.create_task(enqueue())
            waited = []
            for _ in range(100):
                waited = await holder.fetch(
                    "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1",
                    pg_webhooks._JOB_LOCK_CLASS,
                )
                if waited:
                    break
                await asyncio.sleep(0.05)
            assert [r["objid"] for r in waited] == [buckets[0]]
        await asyncio.wait_for(queued, 5)
    finally:
        await conn.close()
        await holder.close()
