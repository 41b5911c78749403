"""A bulk cancel is killed (SIGKILL) in the middle, after some of its pages were written and
before the rest; the same request sent again to the restarted service, with the same `as_of`,
cancels the rest: every selected job ends cancelled with exactly one JobCancelled, and a job
created after `as_of` is left alone. On both backends."""

import asyncio
import contextlib
import os
import sqlite3
from datetime import UTC, datetime

import aiohttp
import asyncpg

from jobledger.eventlog.sqlite import sqlite_path
from tests.live.processes import Service

JOBS = 6000  # 12 pages of 500: the kill lands between two of them
CANCELLED = "SELECT count(*), count(DISTINCT stream_id) FROM events WHERE type = 'JobCancelled'"


async def _cancelled(db_url: str) -> tuple[int, int]:
    """(JobCancelled events, jobs with one), read from the database beside the service."""
    if db_url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(sqlite_path(db_url))) as conn:
            return tuple(conn.execute(CANCELLED).fetchone())
    conn = await asyncpg.connect(db_url)
    try:
        return tuple(await conn.fetchrow(CANCELLED))
    finally:
        await conn.close()


async def test_a_bulk_cancel_killed_midway_resumes_and_cancels_each_job_once(db_url, tmp_path):
    service = Service(db_url, tmp_path, env=dict(os.environ))
    await service.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            for _ in range(JOBS // 100):
                async with session.post(f"{service.url}/jobs/batch", json={"jobs": [{"type": "ocr"}] * 100}) as resp:
                    assert resp.status == 201, await resp.text()
            request = {"filter": {"type": "ocr"}, "as_of": datetime.now(UTC).isoformat(), "reason": "batch withdrawn"}

            sent = asyncio.create_task(session.post(f"{service.url}/jobs/cancel", json=request))
            while not 0 < (await _cancelled(db_url))[0] < JOBS:
                assert not sent.done(), "the bulk cancel ended before the kill"
                await asyncio.sleep(0.005)
            await service.kill()
            with contextlib.suppress(aiohttp.ClientError):
                await sent  # no answer: the client knows only that it sent the request
            events, jobs = await _cancelled(db_url)
            assert 0 < events == jobs < JOBS  # some pages were written, each job at most once

            await service.start()
            async with session.post(f"{service.url}/jobs", json={"type": "ocr"}) as resp:
                later = await resp.json()  # created after as_of: not the request's
            async with session.post(f"{service.url}/jobs/cancel", json=request) as resp:
                answer = await resp.json()
                assert resp.status == 200, answer
            assert answer["acted"] == answer["selected"] == JOBS - jobs

            assert await _cancelled(db_url) == (JOBS, JOBS)
            async with session.get(f"{service.url}/jobs/{later['id']}") as resp:
                assert (await resp.json())["status"] == "queued"
    finally:
        await service.stop()
