"""Helpers shared by the HTTP tests: response checks, whole-log reads, polling."""

import asyncio
import time

BACKEND_NAMES = {"sqlite": "sqlite", "postgres": "postgresql"}  # fixture param -> /health "backend"

# A POST /jobs body that gives every field.
EVERY_FIELD = {
    "type": "rfp-analysis",
    "payload": {"doc": "s3://bucket/rfp.pdf", "pages": [1, 2]},
    "metadata": {"customer": "acme"},
    "phases": ["research", "audit"],
    "priority": 5,
    "max_attempts": 3,
    "run_at": "2030-01-01T12:00:00+02:00",
    "expires_in": 3600,
    "retry_base_seconds": 2,
    "retry_max_seconds": 60,
}


async def error_of(resp, status: int, code: str) -> dict:
    """Assert a JSON error response of this status and code; return its details."""
    body = await resp.json()
    assert resp.status == status, body
    assert resp.content_type == "application/json"
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["details"]


async def ok(resp, status: int = 200) -> dict:
    body = await resp.json()
    assert resp.status == status, body
    return body


async def bad_fields(resp) -> list[str]:
    """Assert a 400 invalid_request with a reason for each field; return the fields it names."""
    details = await error_of(resp, 400, "invalid_request")
    assert all(isinstance(f["reason"], str) and f["reason"] for f in details["fields"])
    return [f["field"] for f in details["fields"]]


async def all_events(client) -> list[dict]:
    """The whole global log, page by page."""
    events, after = [], 0
    while True:
        page = await ok(await client.get("/events", params={"after": after, "limit": 1000}))
        if not page["events"]:
            return events
        events += page["events"]
        after = page["next_after"]


async def all_jobs(client) -> list[dict]:
    return (await ok(await client.get("/jobs", params={"limit": 500})))["jobs"]


async def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll an async predicate until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await predicate():
            return value
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


# How to drive a job (created with phases research and audit) into each state.
STATES = {
    "queued": [],
    "running": ["start"],
    "phase_running": ["start", "phases/research/start"],
    "completed": ["start", "complete"],
    "failed": ["start", ("fail", {"error": "boom"})],
    "cancelled": ["cancel"],
}
