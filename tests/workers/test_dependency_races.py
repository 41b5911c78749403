"""Races between parents' ends and children, on both backends (PostgreSQL: concurrent transactions
on several connections): a child is released exactly once, and never left waiting."""

import asyncio

from tests.workers.helpers import history, ok

PAIRS = 12


async def _claimed(client, job_type: str, count: int) -> dict[str, str]:
    """job id -> lease token of `count` claimed jobs of `job_type`."""
    body = {"worker_id": "w", "types": [job_type], "limit": count, "lease_seconds": 60}
    jobs = (await ok(await client.post("/workers/claim", json=body)))["jobs"]
    assert len(jobs) == count
    return {j["id"]: j["lease_token"] for j in jobs}


async def _complete(client, job_id: str, token: str) -> None:
    await ok(await client.post(f"/jobs/{job_id}/complete", json={"lease_token": token, "result": job_id}))


async def test_two_parents_completing_at_once_release_their_child_exactly_once(client, create_job):
    children = []
    for _ in range(PAIRS):
        a, b = await create_job(type="parent"), await create_job(type="parent")
        children.append(await create_job(type="child", depends_on=[a["id"], b["id"]]))
    tokens = await _claimed(client, "parent", 2 * PAIRS)

    await asyncio.gather(*(_complete(client, job_id, token) for job_id, token in tokens.items()))

    for child in children:
        events = await history(client, child)
        assert [e["type"] for e in events] == [
            "JobCreated", "DependencyResolved", "DependencyResolved", "DependenciesMet"
        ]
        assert {e["data"]["parent"] for e in events[1:3]} == set(child["waiting_on"])
    released = (await ok(await client.get("/jobs?type=child&status=queued&limit=100")))["jobs"]
    assert len(released) == PAIRS


async def test_a_child_created_while_its_parent_completes_is_never_left_waiting(client, create_job):
    parents = [await create_job(type="parent") for _ in range(PAIRS)]
    tokens = await _claimed(client, "parent", PAIRS)

    async def child_of(parent: dict) -> dict:
        return await ok(await client.post("/jobs", json={"type": "child", "depends_on": [parent["id"]]}), 201)

    made = await asyncio.gather(
        *(_complete(client, job_id, token) for job_id, token in tokens.items()), *(child_of(p) for p in parents)
    )

    for child in made[PAIRS:]:
        events = await history(client, child)
        assert [e["type"] for e in events] == ["JobCreated", "DependencyResolved", "DependenciesMet"], events
