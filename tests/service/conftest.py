"""Fixtures for the HTTP tests: "nothing changed" checks, and factories for jobs in a given state."""

import contextlib

import pytest

from tests.service.helpers import STATES, all_events, all_jobs, ok


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
