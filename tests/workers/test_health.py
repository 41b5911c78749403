"""GET /health: how many jobs run, and per type how many wait, how many run, and the oldest wait."""

import asyncio
from datetime import UTC, datetime, timedelta

from tests.workers.helpers import ok


async def _health(client) -> dict:
    return await ok(await client.get("/health"))


async def test_an_empty_service_runs_nothing_and_has_no_queues(client):
    health = await _health(client)

    assert (health["running"], health["queues"]) == (0, {})


async def test_queues_count_queued_and_running_per_type(client, create_job, claim, send):
    for type_ in ("pdf", "pdf", "pdf", "mail"):
        await create_job(type=type_)
    await claim(types=["pdf"])
    await claim(types=["mail"])
    finished = await create_job(type="archive")
    await ok(await send(finished, "start"))
    await ok(await send(finished, "complete"))

    health = await _health(client)

    assert health["running"] == 2
    queues = health["queues"]
    assert (queues["pdf"]["queued"], queues["pdf"]["running"]) == (2, 1)
    assert (queues["mail"]["queued"], queues["mail"]["running"]) == (0, 1)
    archive = queues.get("archive", {})
    assert (archive.get("queued", 0), archive.get("running", 0)) == (0, 0)


async def test_the_oldest_queued_age_grows_while_a_job_waits(client, create_job):
    await create_job(type="pdf")
    await asyncio.sleep(0.3)
    await create_job(type="pdf")

    first = (await _health(client))["queues"]["pdf"]["oldest_queued_age_seconds"]
    await asyncio.sleep(0.2)
    second = (await _health(client))["queues"]["pdf"]["oldest_queued_age_seconds"]

    assert first >= 0.3
    assert second >= first + 0.2


async def test_a_delayed_job_counts_as_queued_but_has_not_started_waiting(client, create_job):
    await create_job(type="later", run_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())

    later = (await _health(client))["queues"]["later"]

    assert (later["queued"], later["running"]) == (1, 0)
    assert later["oldest_queued_age_seconds"] in (None, 0)


async def test_running_follows_jobs_as_they_finish(client, create_job, claim, send):
    for _ in range(3):
        await create_job()
    held = await claim(limit=3)
    assert (await _health(client))["running"] == 3

    for job in held[:2]:
        await ok(await send(job, "complete", {"lease_token": job["lease_token"]}))

    health = await _health(client)
    assert health["running"] == 1 and health["queues"]["task"]["running"] == 1
