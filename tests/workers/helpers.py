"""Helpers for the worker-protocol tests: response checks, histories, polling, clock arithmetic,
and what PostgreSQL counts of the queue indexes."""

import asyncio
import time
from datetime import datetime

import asyncpg


async def ok(resp, status: int = 200) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    return body


async def error_of(resp, status: int, code: str) -> dict:
    """Assert a JSON error of this status and code; return its details."""
    body = await resp.json()
    assert resp.status == status, body
    assert body["error"]["code"] == code, body
    return body["error"]["details"]


async def history(client, job: dict | str) -> list[dict]:
    job_id = job if isinstance(job, str) else job["id"]
    return (await ok(await client.get(f"/jobs/{job_id}/events")))["events"]


async def types_of(client, job: dict | str) -> list[str]:
    """The event types of a job's history, in order."""
    return [e["type"] for e in await history(client, job)]


async def get_job(client, job: dict | str) -> dict:
    job_id = job if isinstance(job, str) else job["id"]
    return await ok(await client.get(f"/jobs/{job_id}"))


async def log_length(client) -> int:
    """How many events the global log holds."""
    count, after = 0, 0
    while page := (await ok(await client.get("/events", params={"after": after, "limit": 5000})))["events"]:
        count += len(page)
        after = page[-1]["position"]
    return count


async def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll an async predicate until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await predicate():
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


async def wait_for_events(client, job: dict | str, *wanted: str, timeout: float = 5.0) -> list[dict]:
    """Wait until the job's history holds each of `wanted` (in order, at its end); return the history."""

    async def check():
        events = await history(client, job)
        return events if [e["type"] for e in events[-len(wanted):]] == list(wanted) else None

    return await wait_until(check, timeout)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def seconds_between(earlier: str, later: str) -> float:
    return (at(later) - at(earlier)).total_seconds()


async def queue_index_reads(url: str, scans_above: int = -1, timeout: float = 30.0) -> tuple[int, int]:
    """(scans, index entries read) of the claim's queue indexes, once more than `scans_above`
    scans are counted (a backend reports its counts a moment after its transaction)."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            scans, reads = await conn.fetchrow(
                "SELECT sum(idx_scan)::bigint, sum(idx_tup_read)::bigint FROM pg_stat_user_indexes "
                "WHERE indexrelname IN ('job_status_queue', 'job_status_queue_any')"
            )
            if scans > scans_above or time.monotonic() > deadline:
                return scans, reads
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def define_type(stores, tenant: str, name: str, config: dict) -> None:
    """Append a TypeDefined to the type's stream as it is, past PUT /types's checks: a definition
    stored by an older release (the log's trigger writes the job_types row)."""
    from jobledger.application.jobs import utcnow
    from jobledger.domain import events, job_type
    from jobledger.eventlog import codec

    stream = job_type.stream_id(tenant, name)
    version = len(await stores.log.read_stream(stream))
    event = codec.new_event(events.TypeDefined(tenant, name, config), utcnow(), {"tenant": tenant, "actor": "test"})
    await stores.log.append(stream, version, [event])


WAIT = 30  # seconds a woken_only test's long poll waits: unwoken, it reads the queue again only then
WOKEN = 15  # seconds within which it must answer: woken, it answers in well under one on an idle machine
