"""Worker-protocol fixtures: create jobs, claim them, report under a lease, check nothing moved."""

import asyncio
import contextlib
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from service.app import create_app
from service.config import Settings
from tests.workers.helpers import log_length, ok

SHUTDOWN_TIMEOUT = 15  # seconds; a clean shutdown takes a fraction of one


@pytest.fixture
async def serve(db_url):
    """Start the service with given Settings; each is shut down before its database is dropped.

    A shutdown that hangs fails the test (after SHUTDOWN_TIMEOUT) instead of hanging the suite.
    """
    clients = []

    async def start(settings: Settings) -> TestClient:
        clients.append(TestClient(TestServer(create_app(settings))))
        await clients[-1].start_server()
        return clients[-1]

    yield start
    hung = 0
    for test_client in clients:
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):  # on 3.11 a timed-out close may also return late, not raise
            await asyncio.wait_for(test_client.close(), SHUTDOWN_TIMEOUT)
        hung += time.monotonic() - started >= SHUTDOWN_TIMEOUT
    if hung:
        pytest.fail(f"{hung} service instance(s) did not shut down within {SHUTDOWN_TIMEOUT} s")


@pytest.fixture
async def client(serve, settings: Settings) -> TestClient:
    """The service on this test's backend (overrides the root `client`, see `serve`)."""
    return await serve(settings)


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
