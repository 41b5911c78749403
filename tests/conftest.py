"""Shared fixtures: a real SQLite file and a real PostgreSQL database per test.

PostgreSQL: one template database is migrated per session, and each test gets
`CREATE DATABASE ... TEMPLATE ...`. If PostgreSQL is unreachable these fixtures
error: the suite fails, it never skips.
"""

import asyncio
import os
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from jobledger.application import storage
from jobledger.web.app import create_app
from jobledger.web.config import Settings


def _dump_tasks(*_) -> None:
    """SIGUSR1: write every asyncio task's stack to a file (to see what a hung test awaits)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    with open(os.environ.get("JOBLEDGER_TASK_DUMP", "jobledger-tasks.txt"), "a") as out:
        for task in asyncio.all_tasks(loop):
            task.print_stack(file=out)


signal.signal(signal.SIGUSR1, _dump_tasks)

PG_ADMIN_URL = os.environ.get("JOBLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgres"]


def _pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run(coro) -> None:
    """Run a coroutine to completion, even when called from inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def pg_template() -> str:
    """A migrated template database, made once per test session."""
    name = f"jobledger_tpl_{os.getpid()}"

    async def make() -> None:
        await _admin(f"DROP DATABASE IF EXISTS {name}")
        await _admin(f"CREATE DATABASE {name}")
        await storage.migrate(_pg_url(name))

    _run(make())
    yield name
    _run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def pg_url(pg_template: str) -> str:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"jobledger_t_{uuid.uuid4().hex[:12]}"
    _run(_admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}"))
    yield _pg_url(name)
    _run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path, request) -> str:
    """A database URL on each backend: a SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/jobledger.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
async def store(db_url: str):
    """The open stores (`Stores`: log, status, queue, registry, projections) of a migrated database, on each backend."""
    stores = await storage.open_stores(db_url)
    yield stores
    await stores.close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(db=db_url, sweep_interval=0.05)


SHUTDOWN_TIMEOUT = 15  # seconds; a clean shutdown takes a fraction of one


@pytest.fixture
async def serve(db_url):
    """Start the service with given Settings; each is shut down (within SHUTDOWN_TIMEOUT)
    before the database goes. Taking `db_url` first makes the database outlive the app;
    a shutdown that hangs fails the test instead of hanging the suite."""
    clients = []

    async def start(settings: Settings) -> TestClient:
        clients.append(TestClient(TestServer(create_app(settings))))
        await clients[-1].start_server()
        return clients[-1]

    yield start
    hung = 0
    for test_client in clients:
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await test_client.close()
        except TimeoutError:
            hung += 1
    if hung:
        pytest.fail(f"{hung} service instance(s) did not shut down within {SHUTDOWN_TIMEOUT} s")


@pytest.fixture
async def client(serve, settings: Settings) -> TestClient:
    """A real HTTP client against the service on each backend."""
    return await serve(settings)
