"""The stats projection: followed from the log by the service, rebuilt beside the live one."""

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from jobledger.domain import events
from jobledger.projections import stats
from jobledger.projections.framework import Fact
from jobledger.application import projection_runner
from jobledger.application.jobs import utcnow

CLI = [sys.executable, "-c", "from jobledger.cli.commands import main; main()"]


async def caught_up(client) -> dict:
    for _ in range(200):
        health = await (await client.get("/health")).json()
        if health["projections"]["stats"]["lag"] == 0:
            return (await (await client.get("/stats")).json())
        await asyncio.sleep(0.05)
    raise AssertionError(f"stats never caught up: {health['projections']}")


async def run_jobs(client, n: int, type_: str = "report") -> None:
    for i in range(n):
        job = await (await client.post("/jobs", json={"type": type_, "phases": ["research"]})).json()
        await client.post(f"/jobs/{job['id']}/start")
        await client.post(f"/jobs/{job['id']}/phases/research/start")
        await client.post(f"/jobs/{job['id']}/phases/research/complete")
        await client.post(f"/jobs/{job['id']}/{'complete' if i % 3 else 'fail'}", json={} if i % 3 else {"error": "x"})
    await client.post("/jobs", json={"type": "other"})


async def test_stats_count_and_time_jobs_per_type(client):
    await run_jobs(client, 6)
    report = await caught_up(client)
    assert report["projection"]["lag"] == 0
    report_type = report["types"]["report"]
    assert report_type["counts"] == {"completed": 4, "failed": 2}
    assert report["types"]["other"]["counts"] == {"queued": 1}
    for window in ("all_time", "last_hour"):
        durations = report_type[window]
        assert durations["finished"] == {"completed": 4, "failed": 2}
        assert durations["queue_wait_seconds"]["count"] == 6
        assert durations["run_seconds"]["count"] == 6
        assert durations["phase_seconds"]["research"]["count"] == 6
        run = durations["run_seconds"]
        assert 0 <= run["p50"] <= run["p95"] <= run["max"] < 30


def _finish(job_id: UUID, created_at: datetime, outcome: events.Event) -> list[Fact]:
    return [
        Fact(job_id, 1, created_at, events.JobCreated("report", "default", None, {}, (), 0, 1, None, created_at)),
        Fact(job_id, 2, created_at, events.JobStarted(attempt=1)),
        Fact(job_id, 3, created_at + timedelta(seconds=5), outcome),
    ]


def test_finished_jobs_are_counted_per_window_by_when_they_finished():
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    facts = [
        *_finish(uuid4(), now - timedelta(hours=3), events.JobCompleted()),
        *_finish(uuid4(), now - timedelta(minutes=30), events.JobCompleted()),
        *_finish(uuid4(), now - timedelta(minutes=10), events.JobFailed(error="x")),
        Fact(uuid4(), 10, now, events.JobCreated("report", "default", None, {}, (), 0, 1, None, now)),
    ]
    docs: dict = {}
    stats.projection.apply(docs, facts)
    report = stats.summarize(list(docs.values()), now)["report"]
    assert report["all_time"]["finished"] == {"completed": 2, "failed": 1}
    assert report["last_hour"]["finished"] == {"completed": 1, "failed": 1}
    assert report["counts"] == {"completed": 2, "failed": 1, "queued": 1}


async def test_a_released_job_counts_as_queued_and_waits_again(client):
    await client.post("/jobs", json={"type": "ocr"})
    claim = {"worker_id": "w", "types": ["ocr"], "lease_seconds": 30}
    [job] = (await (await client.post("/workers/claim", json=claim)).json())["jobs"]
    resp = await client.post(f"/jobs/{job['id']}/release", json={"lease_token": job["lease_token"]})
    assert resp.status == 200
    assert (await caught_up(client))["types"]["ocr"]["counts"] == {"queued": 1}
    [job] = (await (await client.post("/workers/claim", json=claim)).json())["jobs"]
    await client.post(f"/jobs/{job['id']}/complete", json={"lease_token": job["lease_token"]})
    ocr = (await caught_up(client))["types"]["ocr"]
    assert ocr["counts"] == {"completed": 1}
    assert ocr["all_time"]["queue_wait_seconds"]["count"] == 2  # one wait before each claim


async def test_rebuild_beside_the_live_one_gives_the_same_stats_and_reads_never_fail(client, db_url):
    await run_jobs(client, 20)
    before = await caught_up(client)
    failures, reads = [], 0

    async def keep_reading():
        nonlocal reads
        while True:
            resp = await client.get("/stats")
            reads += 1
            if resp.status != 200 or (await resp.json())["types"] != before["types"]:
                failures.append(resp.status)
            await asyncio.sleep(0.005)

    reader = asyncio.create_task(keep_reading())
    rebuild = await asyncio.create_subprocess_exec(
        *CLI, "projections", "rebuild", "stats", "--db", db_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await rebuild.communicate()
    reader.cancel()
    assert rebuild.returncode == 0, err
    assert b"swapped it in" in out
    assert reads > 0 and failures == []
    assert (await caught_up(client))["types"] == before["types"]


async def test_two_runners_never_apply_a_batch_twice(store, client):
    await run_jobs(client, 10)
    await caught_up(client)
    live = sorted(map(str, await store.projections.projection_docs(stats.NAME)))
    generation = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    await asyncio.gather(*(projection_runner.catch_up(store, stats.projection, generation) for _ in range(4)))
    await store.projections.activate_generation(stats.NAME, generation)
    assert sorted(map(str, await store.projections.projection_docs(stats.NAME))) == live


def test_projections_status_shows_checkpoints_and_lag(db_url):
    result = subprocess.run([*CLI, "projections", "status", "--db", db_url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "job_status" in result.stdout and "stats" in result.stdout and "lag" in result.stdout


async def test_two_instances_keep_the_stats_of_a_fresh_rebuild(serve, settings, store):
    """Each instance's runner keeps the documents it saved; the other instance's passes in
    between must make it read them again, or it would save a job's stale document."""
    a, b = await serve(settings), await serve(settings)
    for i in range(24):
        one, other = (a, b) if i % 2 else (b, a)
        job = await (await one.post("/jobs", json={"type": "report", "phases": ["research"]})).json()
        await other.post(f"/jobs/{job['id']}/start")
        await one.post(f"/jobs/{job['id']}/phases/research/start")
        await asyncio.sleep(0.06)  # a pass of each runner between the steps
        await other.post(f"/jobs/{job['id']}/phases/research/complete")
        await one.post(f"/jobs/{job['id']}/complete")
    await caught_up(a)
    await caught_up(b)
    live = sorted(map(str, await store.projections.projection_docs(stats.NAME)))
    generation = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    await projection_runner.catch_up(store, stats.projection, generation)
    await store.projections.activate_generation(stats.NAME, generation)
    assert sorted(map(str, await store.projections.projection_docs(stats.NAME))) == live


async def test_a_pass_whose_save_failed_does_not_apply_its_events_twice(store, client, monkeypatch):
    """The runner changes the documents it keeps in place; when their save fails (here the
    database goes away mid-pass), the next pass must read them again, not apply the same
    events a second time to what the failed pass left."""
    from jobledger.domain import errors

    jobs = [await (await client.post("/jobs", json={"type": "report"})).json() for _ in range(3)]
    generation = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    recent = projection_runner.Recent()
    await projection_runner.catch_up(store, stats.projection, generation, recent=recent)  # keeps the 3 documents
    for job in jobs:
        await client.post(f"/jobs/{job['id']}/start")  # JobStarted adds a wait to each document

    save = store.projections.save_projection

    async def unavailable(*args, **kwargs):
        raise errors.StoreUnavailable("gone mid-pass")

    monkeypatch.setattr(store.projections, "save_projection", unavailable)
    with pytest.raises(errors.StoreUnavailable):
        await projection_runner.catch_up(store, stats.projection, generation, recent=recent)
    monkeypatch.setattr(store.projections, "save_projection", save)
    await projection_runner.catch_up(store, stats.projection, generation, recent=recent)

    await store.projections.activate_generation(stats.NAME, generation)
    docs = await store.projections.projection_docs(stats.NAME)
    assert sorted(len(doc["waits"]) for doc in docs if doc["type"] == "report" and "group" not in doc) == [1, 1, 1]
    assert [len(doc["waits"]) for doc in docs if "group" in doc] == [3]  # the type's, for estimates: once each too
