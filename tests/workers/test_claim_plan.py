"""PostgreSQL: a claim reads its jobs off the queue index in claim order, also right after
a burst of new jobs, while the table's statistics still count the jobs of before (a plan
made for those would read every queued job at each claim, and sort them), and also when
the burst is of jobs not due yet, ahead of the due ones."""

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from jobledger.web.app import create_app
from jobledger.web.config import Settings
from tests.workers.helpers import ok, queue_index_reads

QUEUED = 3000


@pytest.fixture
async def pg_client(pg_url):
    """The service on PostgreSQL only: what is checked here is PostgreSQL's planner (SQLite's
    claim names its index)."""
    client = TestClient(TestServer(create_app(Settings(db=pg_url, sweep_interval=60))))
    await client.start_server()
    yield client
    await client.close()


@pytest.mark.parametrize("waiting", [False, True], ids=["all-due", "all-waiting-but-ten"])
@pytest.mark.parametrize("types", [["task"], None], ids=["of-a-type", "of-any-type"])
async def test_a_claim_after_a_burst_reads_a_few_index_entries_not_the_queue(pg_client, pg_url, types, waiting):
    """The burst is due, or (`waiting`) scheduled for tomorrow at a higher priority than the
    ten due jobs logged after it: a claim steps over none of the waiting ones."""
    client = pg_client
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    later = {"run_at": tomorrow, "priority": 1} if waiting else {}
    for start in range(0, QUEUED, 100):
        jobs = [{"type": "task", "payload": n, **later} for n in range(start, start + 100)]
        await ok(await client.post("/jobs/batch", json={"jobs": jobs}), 201)
    if waiting:
        await ok(await client.post("/jobs/batch", json={"jobs": [{"type": "task", "payload": n} for n in range(10)]}), 201)
    scans, reads = await queue_index_reads(pg_url)

    body = {"worker_id": "w", "limit": 10, "lease_seconds": 60, **({"types": types} if types else {})}
    claimed = (await ok(await client.post("/workers/claim", json=body)))["jobs"]

    assert [job["payload"] for job in claimed] == list(range(10))  # oldest first
    scans_after, reads_after = await queue_index_reads(pg_url, scans_above=scans)
    assert scans_after > scans, "the claim did not scan a queue index"
    assert reads_after - reads < QUEUED / 10, f"the claim read {reads_after - reads} entries of the queue index"
