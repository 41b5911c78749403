"""Concurrent commands on one job: none lost, versions without gaps, If-Match races have one winner."""

import asyncio

import pytest

from tests.service.helpers import all_events, error_of, ok


async def _history(client, job: dict) -> list[dict]:
    return (await ok(await client.get(f"/jobs/{job['id']}/events")))["events"]


@pytest.mark.parametrize("reports", [3, 10])
async def test_concurrent_progress_reports_all_succeed_without_version_gaps(client, job_in, send, reports):
    job = await job_in("running")

    responses = await asyncio.gather(*(send(job, "progress", {"percent": p}) for p in range(reports)))

    bodies = [await ok(r) for r in responses]
    history = await _history(client, job)
    assert sorted(b["version"] for b in bodies) == list(range(3, 3 + reports))
    assert [e["version"] for e in history] == list(range(1, 3 + reports))
    assert sorted(e["data"]["percent"] for e in history[2:]) == list(range(reports))
    final = await ok(await client.get(f"/jobs/{job['id']}"))
    assert final["version"] == 2 + reports
    assert final["progress"]["percent"] == history[-1]["data"]["percent"]


async def test_concurrent_commands_on_many_jobs_keep_each_history_whole(client, job_in, send):
    jobs = [await job_in("running") for _ in range(4)]

    responses = await asyncio.gather(*(send(job, "progress", {"percent": p}) for job in jobs for p in (10, 20)))

    assert [r.status for r in responses] == [200] * 8
    for job in jobs:
        assert [e["version"] for e in await _history(client, job)] == [1, 2, 3, 4]
    positions = [e["position"] for e in await all_events(client)]
    assert positions == sorted(set(positions))


async def _race_on_version_2(job, send) -> tuple:
    return await asyncio.gather(
        send(job, "progress", {"percent": 1}, {"If-Match": "2"}),
        send(job, "progress", {"percent": 2}, {"If-Match": '"2"'}),
    )


async def test_two_commands_with_the_same_if_match_have_exactly_one_winner(client, job_in, send):
    job = await job_in("running")

    first, second = await _race_on_version_2(job, send)

    assert sorted([first.status, second.status]) == [200, 409]
    assert [e["version"] for e in await _history(client, job)] == [1, 2, 3]


async def test_the_loser_of_an_if_match_race_learns_the_current_version_and_status(job_in, send):
    job = await job_in("running")

    first, second = await _race_on_version_2(job, send)

    details = await error_of(first if first.status == 409 else second, 409, "version_conflict")
    assert (details["expected_version"], details["current_version"]) == (2, 3)
    assert details["status"] == "running"


async def test_complete_and_cancel_racing_have_exactly_one_winner(client, job_in, send):
    job = await job_in("running")

    completed, cancelled = await asyncio.gather(send(job, "complete", {"result": 1}), send(job, "cancel"))

    assert sorted([completed.status, cancelled.status]) == [200, 409]
    loser = completed if completed.status == 409 else cancelled
    details = await error_of(loser, 409, "illegal_transition")
    final = await ok(await client.get(f"/jobs/{job['id']}"))
    assert details["status"] == final["status"] == ("completed" if completed.status == 200 else "cancelled")
    assert [e["type"] for e in await _history(client, job)][2:] == [
        "JobCompleted" if completed.status == 200 else "JobCancelled"
    ]


async def test_concurrent_creates_each_get_their_own_job(client):
    responses = await asyncio.gather(*(client.post("/jobs", json={"type": "report", "payload": n}) for n in range(10)))

    jobs = [await ok(r, 201) for r in responses]
    assert sorted(j["payload"] for j in jobs) == list(range(10))
    assert len({j["id"] for j in jobs}) == 10
    assert sorted(j["position"] for j in jobs) == [e["position"] for e in await all_events(client)]
