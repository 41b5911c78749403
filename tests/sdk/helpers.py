"""Helpers for the SDK tests: create jobs, wait for a status, read a job's history."""

import asyncio
import time

TERMINAL = {"completed", "failed", "cancelled", "expired"}


async def create(client, **body) -> dict:
    resp = await client.post("/jobs", json={"type": "report", **body})
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def get(client, job_id: str) -> dict:
    resp = await client.get(f"/jobs/{job_id}")
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def wait_for(client, job_id: str, statuses=TERMINAL, timeout: float = 15.0) -> dict:
    """The job document once its status is one of `statuses`."""
    statuses = {statuses} if isinstance(statuses, str) else statuses
    deadline = time.monotonic() + timeout
    while True:
        job = await get(client, job_id)
        if job["status"] in statuses:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout}s"
        await asyncio.sleep(0.02)


async def wait_until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def history(client, job_id: str) -> list[dict]:
    resp = await client.get(f"/jobs/{job_id}/events")
    assert resp.status == 200
    return (await resp.json())["events"]


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]
