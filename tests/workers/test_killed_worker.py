"""A worker killed mid-job (a real OS process, SIGKILL): its lease runs out, the job is retried and finished."""

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from tests.workers.helpers import error_of, get_job, history, ok, wait_for_events

WORKER = Path(__file__).with_name("worker_process.py")
LEASE = 1.0


@pytest.fixture
async def start_worker(client):
    """Start worker_process.py against the test server; returns (process, {job_id, lease_token})."""
    processes = []

    async def start(job_type: str) -> tuple[asyncio.subprocess.Process, dict]:
        url = str(client.server.make_url("/"))
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), url, job_type, str(LEASE),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        processes.append(process)
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line, (await process.stderr.read()).decode()
        return process, json.loads(line)

    yield start
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_killed_workers_job_is_retried_and_finished_by_another_worker(client, create_job, send, start_worker):
    job = await create_job(type="render", max_attempts=2, retry_base_seconds=0)
    process, held = await start_worker("render")
    assert held["job_id"] == job["id"]
    assert (await get_job(client, job))["progress"]["percent"] == 30

    process.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(process.wait(), 10) == -signal.SIGKILL
    await wait_for_events(client, job, "LeaseExpired", "RetryScheduled", timeout=LEASE + 5)

    claim = {"worker_id": "survivor", "types": ["render"], "lease_seconds": 30, "wait_seconds": 5}
    [again] = (await ok(await client.post("/workers/claim", json=claim)))["jobs"]
    await error_of(await send(job, "progress", {"percent": 99, "lease_token": held["lease_token"]}), 409, "lease_lost")
    done = await ok(await send(again, "complete", {"result": "rendered", "lease_token": again["lease_token"]}))

    events = await history(client, job)
    assert [e["type"] for e in events] == [
        "JobCreated", "JobStarted", "ProgressReported", "LeaseExpired", "RetryScheduled", "JobStarted", "JobCompleted",
    ]
    starts = [e["data"] for e in events if e["type"] == "JobStarted"]
    assert [(s["attempt"], s["worker_id"]) for s in starts] == [(1, "doomed"), (2, "survivor")]
    assert events[3]["data"] == {"worker_id": "doomed", "attempt": 1}
    assert (done["status"], done["attempts"], done["result"]) == ("completed", 2, "rendered")
