"""Worker-protocol fixtures: create jobs, claim them, report under a lease, check nothing moved."""

import contextlib

import pytest
from aiohttp.test_utils import TestClient

from jobledger.application import jobs as jobs_module
from jobledger.web.config import Settings
from tests.workers.helpers import log_length, ok


@pytest.fixture
def woken_only(monkeypatch):
    """A long poll reads the queue again only when woken: its once-a-second look for jobs coming due is put
    off past any test's wait. A claim that answers with a job before its wait_seconds was then woken,
    whatever the machine's load (a timed assertion would race it)."""
    monkeypatch.setattr(jobs_module, "_CLAIM_RECHECK_SECONDS", 3600.0)



@pytest.fixture
def create_job(client):
    """Create a job over HTTP (type "task" unless given); returns its document."""

    async def create(**body) -> dict:
        return await ok(await client.post("/jobs", json={"type": "task", **body}), 201)

    return create


@pytest.fixture
def claim(client):
    """Claim as a worker; returns the claimed job documents (each with its lease_token)."""

    async def take(worker_id: str = "w1", **body) -> list[dict]:
        body = {"worker_id": worker_id, "limit": 1, "lease_seconds": 30, **body}
        return (await ok(await client.post("/workers/claim", json=body)))["jobs"]

    return take


@pytest.fixture
def claimed(create_job, claim):
    """Create a job and claim it: returns the claimed document, with its lease_token."""

    async def make(worker_id: str = "w1", lease_seconds: float = 30, **body) -> dict:
        job = await create_job(**body)
        [doc] = await claim(worker_id, types=[job["type"]], lease_seconds=lease_seconds)
        assert doc["id"] == job["id"]
        return doc

    return make


@pytest.fixture
def send(client):
    """POST to a job's action, e.g. `await send(job, "progress", {"percent": 5})`; returns the response."""

    async def post(job: dict, action: str, body: dict | None = None, headers: dict[str, str] | None = None):
        return await client.post(f"/jobs/{job['id']}/{action}", json=body, headers=headers)

    return post


@pytest.fixture
def log_unchanged(client):
    """`async with log_unchanged():` asserts that the global log did not grow."""

    @contextlib.asynccontextmanager
    async def check():
        before = await log_length(client)
        yield
        assert await log_length(client) == before

    return check


@pytest.fixture
def service_with(serve, settings: Settings):
    """Another service instance on the same database, with changed settings, e.g. strict_types=True."""

    async def start(**changes) -> TestClient:
        return await serve(settings.model_copy(update=changes))

    return start
