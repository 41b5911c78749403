"""What the projection runner reads: documents only where a batch needs them, and each by its key."""

import json
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg

from jobledger.domain import events
from jobledger.eventlog.postgres import projections as pg_projections
from jobledger.projections import stats
from jobledger.projections.framework import Fact
from jobledger.application import projection_runner, storage
from jobledger.application.jobs import utcnow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _fact(job_id, position: int, event: events.Event) -> Fact:
    return Fact(job_id, position, T0, event)


def test_a_batch_reads_the_keys_it_does_not_create_and_ends_the_finished_ones():
    created, started, finished = uuid4(), uuid4(), uuid4()
    new_job = events.JobCreated("report", "default", None, {}, (), 0, 1, None, T0)
    facts = [
        _fact(created, 1, new_job),
        _fact(created, 2, events.JobStarted(attempt=1)),
        _fact(started, 3, events.JobStarted(attempt=1)),
        _fact(finished, 4, events.PhaseStarted(phase="research")),
        _fact(finished, 5, events.ProgressReported(percent=50)),
        _fact(finished, 6, events.JobCompleted()),
        _fact(started, 7, events.ProgressReported(percent=10)),
    ]
    touches = stats.projection.touches(facts)
    assert touches.reads == [str(started), str(finished)]
    assert touches.ended == [str(finished)]


async def _spy_loads(store, monkeypatch) -> list[list[str]]:
    loads, load = [], store.projections.load_projection_rows

    async def recorded(name, generation, keys):
        loads.append(sorted(keys))
        return await load(name, generation, keys)

    monkeypatch.setattr(store.projections, "load_projection_rows", recorded)
    return loads


async def test_documents_a_batch_creates_are_not_read(store, client, monkeypatch):
    jobs = [(await (await client.post("/jobs", json={"type": "report"})).json())["id"] for _ in range(3)]
    generation = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    loads = await _spy_loads(store, monkeypatch)
    await projection_runner.catch_up(store, stats.projection, generation)
    assert loads == []
    for job in jobs:
        await client.post(f"/jobs/{job}/start")
    await projection_runner.catch_up(store, stats.projection, generation)
    # then, once the jobs name it, their type's group document (its queue waits, for estimates)
    assert loads == [sorted(jobs), [stats.type_key("default", "report")]]


async def test_a_finished_job_is_not_kept_and_is_read_again_if_it_moves(store, client, monkeypatch):
    """The runner keeps no copy of a finished job's document; a manual retry afterwards reads
    it from the store, and the documents still equal a fresh rebuild."""
    job = (await (await client.post("/jobs", json={"type": "report"})).json())["id"]
    await client.post(f"/jobs/{job}/start")
    await client.post(f"/jobs/{job}/fail", json={"error": "x"})
    generation = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    recent = projection_runner.Recent()
    loads = await _spy_loads(store, monkeypatch)
    await projection_runner.catch_up(store, stats.projection, generation, recent=recent)
    assert job not in recent.docs
    group = stats.type_key("default", "report")
    assert loads == [[group]] and group in recent.docs  # the type's group document, read once, then kept
    assert (await client.post(f"/jobs/{job}/retry")).status == 200
    await client.post(f"/jobs/{job}/start")
    await projection_runner.catch_up(store, stats.projection, generation, recent=recent)
    assert loads == [[group], [job]]
    assert job in recent.docs
    await client.post(f"/jobs/{job}/complete")
    await projection_runner.catch_up(store, stats.projection, generation, recent=recent)
    assert loads == [[group], [job]] and job not in recent.docs

    await store.projections.activate_generation(stats.NAME, generation)
    kept = await store.projections.projection_docs(stats.NAME)
    fresh = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    await projection_runner.catch_up(store, stats.projection, fresh)
    await store.projections.activate_generation(stats.NAME, fresh)
    assert kept == await store.projections.projection_docs(stats.NAME)
    assert [len(doc["waits"]) for doc in kept if "group" not in doc] == [2]


async def test_a_pass_shorter_than_a_page_reads_the_log_once(store, client, monkeypatch):
    for _ in range(3):
        await client.post("/jobs", json={"type": "report"})
    generation = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    reads, read_all = [], store.log.read_all

    async def counted(**kwargs):
        reads.append(kwargs)
        return await read_all(**kwargs)

    monkeypatch.setattr(store.log, "read_all", counted)
    assert await projection_runner.catch_up(store, stats.projection, generation) == await store.log.head()
    assert len(reads) == 1


async def test_a_pass_fed_by_the_follower_reads_no_log_and_gives_what_reading_gives(store, client, monkeypatch):
    for _ in range(3):
        job = await (await client.post("/jobs", json={"type": "report"})).json()
        await client.post(f"/jobs/{job['id']}/start")
    log = await store.log.read_all(after=0)
    fed = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    read = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    await projection_runner.catch_up(store, stats.projection, read)
    reads, read_all = [], store.log.read_all

    async def counted(**kwargs):
        reads.append(kwargs)
        return await read_all(**kwargs)

    monkeypatch.setattr(store.log, "read_all", counted)
    feed = projection_runner.Feed(0)
    feed.add(log[:2])
    feed.add(log[2:])
    assert await projection_runner.catch_up(store, stats.projection, fed, feed=feed) == log[-1].position
    assert reads == []
    assert await _generation_docs(store, fed) == await _generation_docs(store, read)


async def test_a_checkpoint_behind_what_the_feed_keeps_reads_the_log(store, client, monkeypatch):
    for _ in range(3):
        await client.post("/jobs", json={"type": "report"})
    log = await store.log.read_all(after=0)
    generation = await store.projections.start_generation(stats.NAME, active=False, now=utcnow())
    feed = projection_runner.Feed(log[0].position)  # the first event fell out of it
    feed.add(log[1:])
    reads, read_all = [], store.log.read_all

    async def counted(**kwargs):
        reads.append(kwargs)
        return await read_all(**kwargs)

    monkeypatch.setattr(store.log, "read_all", counted)
    assert await projection_runner.catch_up(store, stats.projection, generation, feed=feed) == log[-1].position
    assert reads == [{"after": 0, "limit": projection_runner.PAGE}]
    assert len(await _generation_docs(store, generation)) == 3


async def _generation_docs(store, generation: int) -> list:
    """The documents of one generation of the stats projection, by key."""
    keys = [str(e.stream_id) for e in await store.log.read_all(after=0) if e.type == "JobCreated"]
    return sorted((await store.projections.load_projection_rows(stats.NAME, generation, keys)).items())


def _scans_of(plan: dict, table: str) -> list[dict]:
    found = [plan] if plan.get("Relation Name") == table else []
    for child in plan.get("Plans", []):
        found += _scans_of(child, table)
    return found


async def test_documents_are_read_by_their_key_whatever_the_statistics_say(pg_url):
    """A generation that grew and was rewritten with nothing analysing it (autovacuum off)
    looks tiny to the planner; reading a few of its documents must still be one index
    lookup per key, never a scan of the generation, with a custom plan or a generic one."""
    store = await storage.open_stores(pg_url)
    try:
        generation = await store.projections.start_generation(stats.NAME, active=True, now=utcnow())
        keys = [str(uuid4()) for _ in range(3000)]
        position = 0
        for status in ("queued", "running", "completed"):
            for start in range(0, len(keys), 500):
                rows = {key: {"status": status, "waits": []} for key in keys[start : start + 500]}
                assert await store.projections.save_projection(stats.NAME, generation, rows, position, position + 1, utcnow())
                position += 1
    finally:
        await store.close()
    conn = await asyncpg.connect(pg_url)
    try:
        for mode in ("force_custom_plan", "force_generic_plan", "force_custom_plan"):
            await conn.execute(f"SET plan_cache_mode = {mode}")
            explained = await conn.fetchval(
                "EXPLAIN (FORMAT JSON) " + pg_projections.LOAD_ROWS, stats.NAME, generation, keys[1000:1200]
            )
            scans = _scans_of(json.loads(explained)[0]["Plan"], "projection_rows")
            assert [s["Node Type"] for s in scans] == ["Index Scan"], (mode, scans)
            assert "key" in scans[0]["Index Cond"]
            await conn.execute("ANALYZE projection_rows")  # the last round: with true statistics too
    finally:
        await conn.close()
