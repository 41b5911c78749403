"""Fixtures for the HTTP tests: "nothing changed" checks, and factories for jobs in a given state."""

import asyncio
import contextlib

import pytest
from aiohttp.test_utils import TestClient, TestServer

from service.app import create_app
from service.config import Settings
from tests.service.helpers import STATES, all_events, all_jobs, ok

SHUTDOWN_TIMEOUT = 15  # seconds; a clean shutdown takes a fraction of one


@pytest.fixture
async def serve(db_url):
    """Start the service with given Settings; each is shut down (within SHUTDOWN_TIMEOUT) before the database goes.

    Taking `db_url` first makes the database outlive the app. A shutdown that hangs fails
    the test instead of hanging the suite.
    """
    clients = []

    async def start(settings: Settings) -> TestClient:
        clients.append(TestClient(TestServer(create_app(settings))))
        await clients[-1].start_server()
        return clients[-1]

    yield start
    for test_client in clients:
        try:
            await asyncio.wait_for(test_client.close(), SHUTDOWN_TIMEOUT)
        except TimeoutError:
            pytest.fail(f"the service did not shut down within {SHUTDOWN_TIMEOUT} s")


@pytest.fixture
async def client(serve, settings: Settings) -> TestClient:
    """The service on this test's backend (overrides the root `client`, see `serve`)."""
    return await serve(settings)


@pytest.fixture
def unchanged(client):
    """`async with unchanged():` asserts that neither the log nor the job list moved."""

    @contextlib.asynccontextmanager
    async def check():
        before = (await all_events(client), await all_jobs(client))
        yield
        assert (await all_events(client), await all_jobs(client)) == before

    return check


@pytest.fixture
def create_job(client):
    """Create a job over HTTP (type "report" unless given); returns its document."""

    async def create(**body) -> dict:
        return await ok(await client.post("/jobs", json={"type": "report", **body}), 201)

    return create


@pytest.fixture
def send(client):
    """POST a command to a job, e.g. `await send(job, "phases/research/start")`; returns the response."""

    async def post(job: dict, action: str, body: dict | None = None, headers: dict[str, str] | None = None):
        return await client.post(f"/jobs/{job['id']}/{action}", json=body, headers=headers)

    return post


@pytest.fixture
def job_in(create_job, send):
    """Create a job with phases research and audit and drive it into one of STATES."""

    async def make(state: str) -> dict:
        job = await create_job(phases=["research", "audit"])
        for step in STATES[state]:
            action, body = step if isinstance(step, tuple) else (step, None)
            job = await ok(await send(job, action, body))
        return job

    return make
