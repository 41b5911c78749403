"""Fixtures for the worker SDK: a running service on each backend, and Workers against it
over HTTP or in-process (the same database as the service)."""

import asyncio
import contextlib

import pytest

from jobledger.sdk.worker import Worker
from jobledger.web.app import create_app

MODES = ["http", "inprocess"]


@pytest.fixture
async def server(aiohttp_server, settings):
    """The service, listening on a real port (a subprocess worker can reach it too)."""
    return await aiohttp_server(create_app(settings))


@pytest.fixture
async def client(aiohttp_client, server):
    """The test's own HTTP client: creates jobs, cancels them, reads their history."""
    return await aiohttp_client(server)


@pytest.fixture
def service_url(server) -> str:
    return str(server.make_url("")).rstrip("/")


@pytest.fixture(params=MODES)
def mode(request) -> str:
    return request.param


@pytest.fixture
async def make_worker(mode, service_url, settings):
    """Make a Worker in this test's mode (keyword arguments are Worker fields); `start` runs it."""
    running: list[tuple[Worker, asyncio.Task]] = []

    def make(**options) -> Worker:
        where = {"url": service_url} if mode == "http" else {"db": settings.db, "sweep_interval": None}
        return Worker(**where, **{"wait_seconds": 1.0, **options})

    def start(worker: Worker) -> asyncio.Task:
        task = asyncio.create_task(worker.run())
        running.append((worker, task))
        return task

    make.start = start
    yield make
    for worker, task in running:
        worker.stop(grace=0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)
