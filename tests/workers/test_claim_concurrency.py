"""Concurrent claimers: no job is handed to two workers, and per-type limits hold under contention."""

import asyncio
import time
from collections import Counter

from tests.workers.helpers import WAIT, WOKEN, ok

JOBS = 2000
CLAIMERS = 16


async def _create(client, body: dict) -> dict:
    return await ok(await client.post("/jobs", json=body), 201)


async def _create_many(client, count: int, batch: int = 100) -> set[str]:
    ids = set()
    for start in range(0, count, batch):
        bodies = [{"type": "bulk", "metadata": {"n": n}} for n in range(start, min(start + batch, count))]
        docs = await asyncio.gather(*(_create(client, body) for body in bodies))
        ids.update(d["id"] for d in docs)
    return ids


async def _claim(client, worker_id: str) -> list[dict]:
    body = {"worker_id": worker_id, "types": ["bulk"], "limit": 10, "lease_seconds": 300}
    return (await ok(await client.post("/workers/claim", json=body)))["jobs"]


async def _complete(client, worker_id: str, jobs: list[dict], done: Counter) -> None:
    for job in jobs:
        await ok(await client.post(f"/jobs/{job['id']}/complete", json={"lease_token": job["lease_token"], "result": worker_id}))
        done[(job["id"], worker_id)] += 1


async def _claim_and_complete_until_empty(client, worker_id: str, done: Counter) -> None:
    while jobs := await _claim(client, worker_id):
        await _complete(client, worker_id, jobs, done)


async def _events_by_job(client) -> dict[str, list[str]]:
    by_job: dict[str, list[str]] = {}
    after = 0
    while page := (await ok(await client.get("/events", params={"after": after, "limit": 5000})))["events"]:
        for e in page:
            by_job.setdefault(e["job_id"], []).append(e["type"])
        after = page[-1]["position"]
    return by_job


async def test_sixteen_claimers_over_two_thousand_jobs_complete_each_exactly_once(client):
    ids = await _create_many(client, JOBS)
    done: Counter = Counter()

    await asyncio.gather(*(_claim_and_complete_until_empty(client, f"w{i}", done) for i in range(CLAIMERS)))

    by_job = await _events_by_job(client)
    assert len(ids) == JOBS and set(by_job) == ids
    assert sorted({job_id for job_id, _ in done}) == sorted(ids)
    assert sum(done.values()) == JOBS
    assert [j for j, types in by_job.items() if types != ["JobCreated", "JobStarted", "JobCompleted"]] == []
    workers = Counter(worker for _, worker in done)
    assert len(workers) > 1, "the claimers never overlapped: the test proves nothing"
    health = await ok(await client.get("/health"))
    assert health["jobs"] == {"completed": JOBS}
    assert health["running"] == 0


async def test_claimers_on_two_service_instances_over_one_database_never_share_a_job(service_with):
    first, second = await service_with(), await service_with()
    ids = await _create_many(first, 300)
    done: Counter = Counter()

    claimers = [(instance, f"{name}{i}") for i in range(6) for name, instance in (("a", first), ("b", second))]
    # In rounds: every claimer claims at once, then completes what it got. Free-running, one
    # SQLite instance's writer could take every job while the other's waited out its lock.
    while any(claims := await asyncio.gather(*(_claim(client, worker) for client, worker in claimers))):
        await asyncio.gather(*(_complete(c, w, jobs, done) for (c, w), jobs in zip(claimers, claims, strict=True)))

    by_job = await _events_by_job(second)
    assert set(by_job) == ids and sum(done.values()) == len(ids)
    assert [j for j, types in by_job.items() if types != ["JobCreated", "JobStarted", "JobCompleted"]] == []
    assert {worker[0] for _, worker in done} == {"a", "b"}, "one instance took every job: the test proves nothing"


async def test_concurrent_claimers_respect_a_types_max_running(client):
    await ok(await client.put("/types/scarce", json={"max_running": 2}))
    for _ in range(20):
        await ok(await client.post("/jobs", json={"type": "scarce"}), 201)

    async def grab(worker_id: str, types: list[str] | None) -> list[dict]:
        body = {"worker_id": worker_id, "limit": 5, "lease_seconds": 60, **({"types": types} if types else {})}
        return (await ok(await client.post("/workers/claim", json=body)))["jobs"]

    results = await asyncio.gather(*(grab(f"w{i}", ["scarce"] if i % 2 else None) for i in range(12)))

    claimed = [job for jobs in results for job in jobs]
    assert len(claimed) == 2 and len({j["id"] for j in claimed}) == 2
    health = await ok(await client.get("/health"))
    assert (health["queues"]["scarce"]["running"], health["queues"]["scarce"]["queued"]) == (2, 18)

    first = claimed[0]
    await ok(await client.post(f"/jobs/{first['id']}/complete", json={"lease_token": first["lease_token"]}))
    again = await asyncio.gather(*(grab(f"v{i}", None) for i in range(6)))

    assert sum(len(jobs) for jobs in again) == 1


async def test_a_long_poll_on_a_full_type_answers_when_a_running_job_finishes(client, woken_only):
    await ok(await client.put("/types/single", json={"max_running": 1}))
    for _ in range(2):
        await ok(await client.post("/jobs", json={"type": "single"}), 201)
    body = {"worker_id": "w", "types": ["single"], "lease_seconds": 60}
    [running] = (await ok(await client.post("/workers/claim", json=body)))["jobs"]

    async def finish_later():
        await asyncio.sleep(0.3)
        await ok(await client.post(f"/jobs/{running['id']}/complete", json={"lease_token": running["lease_token"]}))

    async def timed_claim():
        started = time.monotonic()
        jobs = (await ok(await client.post("/workers/claim", json={**body, "wait_seconds": WAIT})))["jobs"]
        return jobs, time.monotonic() - started

    (jobs, elapsed), _ = await asyncio.gather(timed_claim(), finish_later())

    [waited] = jobs
    assert waited["id"] != running["id"]
    assert 0.3 <= elapsed < WOKEN  # woken by the finish
