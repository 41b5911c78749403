"""Group commit on PostgreSQL: a light load's appends commit side by side, a heavy load's together."""

import asyncio
from uuid import uuid4

import asyncpg
import pytest

from jobledger.eventlog import appender
from jobledger.application import storage
from tests.eventlog.test_contract import new_events


@pytest.fixture
async def pg_store(pg_url):
    store = await storage.open_stores(pg_url)
    yield store
    await store.close()


async def _transactions(pg_url: str, jobs) -> int:
    conn = await asyncpg.connect(pg_url)
    try:
        return await conn.fetchval("SELECT count(DISTINCT tx) FROM events WHERE stream_id = ANY($1)", list(jobs))
    finally:
        await conn.close()


async def test_a_few_appends_at_a_time_commit_side_by_side(pg_store, pg_url):
    await pg_store.log.append(uuid4(), 0, new_events(1))  # the batch before is small
    jobs = [uuid4() for _ in range(8)]
    await asyncio.gather(*(pg_store.log.append(job, 0, new_events(1)) for job in jobs))
    assert await _transactions(pg_url, jobs) == 8 // appender.SMALL_SHARE


async def test_many_appends_at_a_time_commit_in_few_transactions(pg_store, pg_url):
    jobs = [uuid4() for _ in range(400)]
    await asyncio.gather(*(pg_store.log.append(job, 0, new_events(1)) for job in jobs))
    assert await _transactions(pg_url, jobs) <= 400 // appender.MIN_SHARE + appender.MIN_SHARE // appender.SMALL_SHARE
