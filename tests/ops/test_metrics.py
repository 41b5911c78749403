"""GET /metrics over real HTTP, on both backends: each metric moves by what the requests did."""

import asyncio
import gc
import re

import aiohttp
import asyncpg
import pytest

from tests.live.processes import Service
from tests.ops.helpers import Scrape, moved, scrape
from tests.service.helpers import ok

EVENTS = "jobledger_events_appended_total"
RUN = "jobledger_job_run_seconds"
HTTP = "jobledger_http_request_duration_seconds"
GC = "jobledger_gc_pause_seconds"


async def _create(client, job_type: str = "ocr", **body) -> dict:
    return await ok(await client.post("/jobs", json={"type": job_type, **body}), 201)


async def _claim(client, job_type: str = "ocr", **body) -> list[dict]:
    claim = {"worker_id": "w1", "types": [job_type], "lease_seconds": 30, **body}
    return (await ok(await client.post("/workers/claim", json=claim)))["jobs"]


async def _report(client, job: dict, action: str, **body) -> dict:
    return await ok(await client.post(f"/jobs/{job['id']}/{action}", json={"lease_token": job["lease_token"], **body}))


async def test_events_appended_are_counted_by_type(client):
    before = await scrape(client)
    await _create(client)
    await _create(client)
    [job] = await _claim(client)
    await _report(client, job, "progress", percent=50)
    await _report(client, job, "complete", result={"pages": 3})
    after = await scrape(client)
    kinds = ("JobCreated", "JobStarted", "ProgressReported", "JobCompleted")
    counts = {t: moved(before, after, EVENTS, type=t) for t in kinds}
    assert counts == {"JobCreated": 2, "JobStarted": 1, "ProgressReported": 1, "JobCompleted": 1}
    assert moved(before, after, EVENTS, type="JobFailed") == 0


async def test_a_refused_command_counts_nothing(client):
    job = await _create(client)
    before = await scrape(client)
    resp = await client.post(f"/jobs/{job['id']}/complete", json={})
    assert resp.status == 409
    after = await scrape(client)
    assert sum(v for (name, _), v in after.samples.items() if name == EVENTS) == sum(
        v for (name, _), v in before.samples.items() if name == EVENTS
    )


async def test_jobs_by_type_and_status_include_zeros(client):
    for job_type in ("ocr", "ocr", "ocr", "mail"):
        await _create(client, job_type)
    [running] = await _claim(client)
    done = (await _claim(client))[0]
    await _report(client, done, "complete")
    metrics = await scrape(client)
    statuses = ("queued", "running", "completed", "failed")
    ocr = {s: metrics.value("jobledger_jobs", type="ocr", status=s) for s in statuses}
    assert ocr == {"queued": 1, "running": 1, "completed": 1, "failed": 0}
    assert metrics.value("jobledger_jobs", type="mail", status="queued") == 1
    assert {"type": "mail", "status": "expired"} in metrics.labels("jobledger_jobs")

    await _report(client, running, "fail", error="broken")
    metrics = await scrape(client)
    assert metrics.value("jobledger_jobs", type="ocr", status="running") == 0
    assert metrics.value("jobledger_jobs", type="ocr", status="failed") == 1


async def test_claim_wait_is_the_time_a_claim_waited_for_its_jobs(client):
    await _create(client, "now")
    before = await scrape(client)
    [immediate] = await _claim(client, "now")
    waiting = asyncio.create_task(_claim(client, "later", wait_seconds=30))
    await asyncio.sleep(0.4)
    await _create(client, "later")
    [late] = await asyncio.wait_for(waiting, 30)
    empty = await _claim(client, "nothing")
    after = await scrape(client)
    assert (immediate["type"], late["type"], empty) == ("now", "later", [])
    assert moved(before, after, "jobledger_claim_wait_seconds_count") == 2  # the empty claim is not a wait for jobs
    assert moved(before, after, "jobledger_claim_wait_seconds_bucket", le="0.25") <= 1  # the late one waited 0.4 s
    assert moved(before, after, "jobledger_claim_wait_seconds_sum") >= 0.4


async def test_job_run_time_from_start_to_the_ending_event(client):
    await _create(client)
    await _create(client, max_attempts=1)
    cancelled_while_queued = await _create(client, "idle")
    before = await scrape(client)
    [first] = await _claim(client)
    await asyncio.sleep(0.3)
    await _report(client, first, "complete")
    [second] = await _claim(client)
    await _report(client, second, "fail", error="no")
    await ok(await client.post(f"/jobs/{cancelled_while_queued['id']}/cancel", json={}))
    after = await scrape(client)
    assert moved(before, after, f"{RUN}_count", type="ocr", status="completed") == 1
    assert moved(before, after, f"{RUN}_sum", type="ocr", status="completed") >= 0.3
    assert moved(before, after, f"{RUN}_count", type="ocr", status="failed") == 1
    assert moved(before, after, f"{RUN}_count", type="idle", status="cancelled") == 0  # it never ran


async def test_a_retry_ends_no_run_and_a_tracked_job_is_timed_too(client):
    retried = await _create(client, max_attempts=2, retry_base_seconds=0)
    tracked = await _create(client, "tracked")
    before = await scrape(client)
    [job] = await _claim(client)
    assert job["id"] == retried["id"]
    await _report(client, job, "fail", error="again", retryable=True)
    await ok(await client.post(f"/jobs/{tracked['id']}/start", json={}))
    await ok(await client.post(f"/jobs/{tracked['id']}/complete", json={}))
    after = await scrape(client)
    assert moved(before, after, f"{RUN}_count", type="ocr", status="failed") == 0
    assert moved(before, after, EVENTS, type="RetryScheduled") == 1
    assert moved(before, after, f"{RUN}_count", type="tracked", status="completed") == 1


async def test_http_latency_is_labelled_by_route_never_by_raw_path(client):
    jobs = [await _create(client), await _create(client)]
    before = await scrape(client)
    for job in jobs:
        await ok(await client.get(f"/jobs/{job['id']}"))
    for path in ("/nowhere", "/nowhere/else", "/jobs/x/y/z"):
        assert (await client.get(path)).status == 404
    assert (await client.get("/jobs/not-a-uuid")).status == 404
    assert (await client.request("PROPFIND", "/jobs")).status == 405
    after = await scrape(client)
    assert moved(before, after, f"{HTTP}_count", method="GET", route="/jobs/{id}", status="200") == 2
    assert moved(before, after, f"{HTTP}_count", method="GET", route="/jobs/{id}", status="404") == 1
    assert moved(before, after, f"{HTTP}_count", method="GET", route="unmatched", status="404") == 3
    assert moved(before, after, f"{HTTP}_count", method="other", route="unmatched", status="405") == 1
    routes = {labels["route"] for labels in after.labels(f"{HTTP}_count")}
    assert not [r for r in routes if re.search(r"[0-9a-f]{8}-|nowhere|not-a-uuid", r)], routes


async def test_open_websockets_are_counted_and_not_timed(client):
    job = await _create(client)
    first = await client.ws_connect("/ws")
    second = await client.ws_connect(f"/jobs/{job['id']}/ws")
    assert (await scrape(client)).value("jobledger_websockets_open") == 2
    await first.close()
    await second.close()
    for _ in range(200):
        metrics = await scrape(client)
        if metrics.value("jobledger_websockets_open") == 0:
            break
        await asyncio.sleep(0.05)
    assert metrics.value("jobledger_websockets_open") == 0
    assert not [labels for labels in metrics.labels(f"{HTTP}_count") if labels["route"].endswith("/ws")]


async def _caught_up(client):
    """Scrape until the stats projection has caught up with the log."""
    for _ in range(200):
        metrics = await scrape(client)
        if metrics.value("jobledger_projection_lag_events", projection="stats") == 0:
            break
        await asyncio.sleep(0.05)
    assert metrics.value("jobledger_projection_lag_events", projection="stats") == 0
    return metrics


async def test_projection_lag_reaches_zero(client):
    for _ in range(5):
        await _create(client)
    metrics = await _caught_up(client)
    assert metrics.value("jobledger_projection_lag_events", projection="job_status") == 0
    assert {"projection": "stats"} in metrics.labels("jobledger_projection_lag_events")


@pytest.mark.parametrize("backend", ["postgres"])
async def test_projection_lag_counts_the_events_a_stalled_projection_has_not_applied(client, db_url):
    """Hold the checkpoint table's write lock (reads go on): the stats runner stalls, appends don't."""
    await _caught_up(client)
    conn = await asyncpg.connect(db_url)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE projection_checkpoints IN EXCLUSIVE MODE")
            for _ in range(3):
                await _create(client)
            metrics = await scrape(client)
            assert metrics.value("jobledger_projection_lag_events", projection="stats") == 3
            assert metrics.value("jobledger_projection_lag_events", projection="job_status") == 0
    finally:
        await conn.close()
    await _caught_up(client)


async def test_every_garbage_collection_is_timed_by_generation(client):
    before = await scrape(client)
    gc.collect()  # the service runs in this process: a full collection stops its event loop too
    gc.collect(0)
    after = await scrape(client)
    assert moved(before, after, f"{GC}_count", generation="2") == 1
    assert moved(before, after, f"{GC}_count", generation="0") >= 1
    assert moved(before, after, f"{GC}_sum", generation="2") > 0


async def test_a_served_instance_freezes_its_start_up_heap(db_url, tmp_path):
    """`jobledger serve` moves the objects start-up left out of the collector's reach; full collections skip them."""
    service = await Service(db_url, tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{service.url}/metrics") as resp:
            metrics = Scrape(await resp.text())
    finally:
        await service.stop()
    assert metrics.value("jobledger_gc_frozen_objects") > 50_000
    assert metrics.value(f"{GC}_count", generation="2") >= 1  # the collection just before the freeze
