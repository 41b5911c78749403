"""Expiry: a job not finished by expires_at becomes expired through the sweeper (every 0.05 s here)."""

import asyncio
from datetime import datetime

import pytest

from tests.service.helpers import error_of, ok, wait_until

SHORT = 0.3  # seconds: long enough to drive a job before it expires


async def _expired(client, job: dict) -> dict:
    async def check():
        doc = await ok(await client.get(f"/jobs/{job['id']}"))
        return doc if doc["status"] == "expired" else None

    return await wait_until(check)


async def _history(client, job: dict) -> list[dict]:
    return (await ok(await client.get(f"/jobs/{job['id']}/events")))["events"]


@pytest.mark.parametrize(
    ("steps", "before"), [([], []), (["start", "phases/research/start"], ["JobStarted", "PhaseStarted"])]
)
async def test_unfinished_job_expires(client, create_job, send, steps, before):
    job = await create_job(phases=["research"], expires_in=SHORT)
    for action in steps:
        await ok(await send(job, action))

    expired = await _expired(client, job)
    history = await _history(client, job)

    assert [e["type"] for e in history] == ["JobCreated", *before, "JobExpired"]
    assert [e["version"] for e in history] == list(range(1, len(history) + 1))
    assert expired["version"] == len(history)
    assert history[-1]["data"] == {"expires_at": job["expires_at"]}
    assert history[-1]["metadata"]["actor"] == "sweeper"
    assert datetime.fromisoformat(expired["finished_at"]) >= datetime.fromisoformat(job["expires_at"])
    assert expired["position"] == history[-1]["position"]


async def test_expires_at_is_creation_plus_expires_in(create_job):
    job = await create_job(expires_in=90.5)

    delta = datetime.fromisoformat(job["expires_at"]) - datetime.fromisoformat(job["created_at"])

    assert delta.total_seconds() == 90.5


COMMANDS = [
    ("start", None, "start"),
    ("progress", {"percent": 1}, "progress"),
    ("progress", {"message": "still waiting"}, "progress"),
    ("phases/research/start", None, "start phase"),
    ("complete", None, "complete"),
    ("fail", {"error": "late"}, "fail"),
    ("cancel", None, "cancel"),
]


@pytest.mark.parametrize(("action", "body", "transition"), COMMANDS)
async def test_expired_is_terminal(client, create_job, send, unchanged, action, body, transition):
    job = await _expired(client, await create_job(phases=["research"], expires_in=0.05))

    async with unchanged():
        details = await error_of(await send(job, action, body), 409, "illegal_transition")

    assert (details["status"], details["transition"], details["version"]) == ("expired", transition, 2)


async def test_delete_of_an_expired_job_answers_409(client, create_job, unchanged):
    job = await _expired(client, await create_job(expires_in=0.05))

    async with unchanged():
        details = await error_of(await client.delete(f"/jobs/{job['id']}"), 409, "illegal_transition")

    assert details["status"] == "expired"


@pytest.mark.parametrize("finish", [("complete", None), ("fail", {"error": "x"})])
async def test_finished_job_does_not_expire_after_its_deadline(client, create_job, send, finish):
    job = await create_job(expires_in=SHORT)
    await ok(await send(job, "start"))
    done = await ok(await send(job, *finish))

    await asyncio.sleep(SHORT + 10 * 0.05)

    assert await ok(await client.get(f"/jobs/{job['id']}")) == done
    assert len(await _history(client, job)) == 3


async def test_cancelled_job_does_not_expire(client, create_job, send):
    job = await create_job(expires_in=SHORT)
    cancelled = await ok(await client.delete(f"/jobs/{job['id']}"))

    await asyncio.sleep(SHORT + 10 * 0.05)

    assert await ok(await client.get(f"/jobs/{job['id']}")) == cancelled


async def test_only_due_jobs_expire(client, create_job):
    due = await create_job(expires_in=0.05)
    later = await create_job(expires_in=3600)

    await _expired(client, due)
    await asyncio.sleep(5 * 0.05)

    assert await ok(await client.get(f"/jobs/{later['id']}")) == later


async def test_expired_jobs_are_listed_and_counted(client, create_job):
    job = await _expired(client, await create_job(expires_in=0.05))
    await create_job()

    listed = (await ok(await client.get("/jobs", params={"status": "expired"})))["jobs"]
    health = await ok(await client.get("/health"))

    assert listed == [job]
    assert (health["jobs"]["expired"], health["jobs"]["queued"]) == (1, 1)
