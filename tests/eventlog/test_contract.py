"""The contract of the stores, run against every backend."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import orjson
import pytest

from jobledger.domain import commands, errors
from jobledger.domain.job import Job
from jobledger.domain.status import Status
from jobledger.eventlog.records import AppendRequest, AppendsRefused, NewEvent
from jobledger.projections import job_status
from jobledger.application import audit, storage
from jobledger.application.jobs import Jobs

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def new_events(n: int, start: int = 0) -> list[NewEvent]:
    return [
        NewEvent("ProgressReported", {"percent": i, "message": f"step {i}"}, T0 + timedelta(microseconds=i), {"actor": "t"})
        for i in range(start, start + n)
    ]


async def test_append_then_read_stream(store):
    job = uuid4()
    first = await store.log.append(job, 0, new_events(3))
    second = await store.log.append(job, 3, new_events(2, 3))
    stream = await store.log.read_stream(job)
    assert [e.version for e in stream] == [1, 2, 3, 4, 5]
    assert stream == first + second
    assert [e.data["percent"] for e in stream] == [0, 1, 2, 3, 4]
    assert stream[0].recorded_at == T0 and stream[0].metadata == {"actor": "t"}
    assert [e.position for e in stream] == sorted(e.position for e in stream)


@pytest.mark.parametrize("expected", [0, 1, 3])
async def test_stale_expected_version_appends_nothing(store, expected):
    job = uuid4()
    await store.log.append(job, 0, new_events(2))
    head = await store.log.head()
    with pytest.raises(errors.VersionConflict) as info:
        await store.log.append(job, expected, new_events(1))
    assert info.value.current_version == 2
    assert len(await store.log.read_stream(job)) == 2
    assert await store.log.head() == head


async def test_concurrent_appends_with_same_expected_version_one_wins(store):
    job = uuid4()
    await store.log.append(job, 0, new_events(1))
    results = await asyncio.gather(*(store.log.append(job, 1, new_events(1)) for _ in range(2)), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["VersionConflict", "list"]
    assert [e.version for e in await store.log.read_stream(job)] == [1, 2]


async def test_two_instances_racing_on_one_job_one_wins(db_url):
    stores = [await storage.open_stores(db_url) for _ in range(2)]
    try:
        job = uuid4()
        await stores[0].log.append(job, 0, new_events(1))
        for version in range(1, 30):
            results = await asyncio.gather(*(s.log.append(job, version, new_events(1)) for s in stores), return_exceptions=True)
            assert sorted(type(r).__name__ for r in results) == ["VersionConflict", "list"]
        assert [e.version for e in await stores[1].log.read_stream(job)] == list(range(1, 31))
    finally:
        for s in stores:
            await s.close()


async def test_a_conflict_does_not_fail_other_appends_in_the_same_batch(store):
    jobs = [uuid4() for _ in range(20)]
    results = await asyncio.gather(
        *(store.log.append(job, 0 if i % 2 else 5, new_events(1)) for i, job in enumerate(jobs)), return_exceptions=True
    )
    for i, result in enumerate(results):
        assert isinstance(result, errors.VersionConflict) != bool(i % 2)
    streams = [await store.log.read_stream(j) for j in jobs]
    assert sum(map(len, streams)) == 10


async def test_a_mixed_batch_writes_status_rows_only_for_the_appends_it_accepts(store):
    """Appends of 1 to 3 events with status rows, every third one stale, in concurrent batches:
    a refused append leaves no event and no row; an accepted one's row carries its version and
    the positions of its first and last event, and its hash chain verifies."""
    jobs = [uuid4() for _ in range(30)]
    for job in jobs:
        await store.log.append(job, 0, new_events(1), status_row(job, "queued", 1))

    def append(i: int, job):
        count, stale = i % 3 + 1, i % 3 == 2
        state = status_row(job, "running", 1 + count)
        return store.log.append(job, 7 if stale else 1, new_events(count, start=1), state)

    results = await asyncio.gather(*(append(i, job) for i, job in enumerate(jobs)), return_exceptions=True)
    for i, (job, result) in enumerate(zip(jobs, results, strict=True)):
        row = await store.status.get_status(job)
        history = await store.log.read_stream(job)
        if i % 3 == 2:
            assert isinstance(result, errors.VersionConflict)
            assert (len(history), row.version, row.last_position) == (1, 1, history[0].position)
            continue
        assert [e.version for e in history] == list(range(1, i % 3 + 3))
        positions = [e.position for e in history[1:]]
        assert positions == list(range(positions[0], positions[0] + len(positions)))  # one append, one run
        assert [e.position for e in result] == positions
        assert (row.version, row.last_position) == (len(history), positions[-1])
        assert orjson.loads(row.doc)["status"] == "running"
        assert (await audit.verify_job(store, job)).first_break is None


async def test_append_all_writes_every_append_in_one_run_of_positions(store):
    jobs = [uuid4() for _ in range(5)]
    await store.log.append(jobs[0], 0, new_events(2))
    expected = [2, 0, 0, 0, 0]
    requests = [
        AppendRequest(job, expected[i], new_events(i + 1), status_row(job, "queued", expected[i] + i + 1))
        for i, job in enumerate(jobs)
    ]

    results = await store.log.append_all(requests)

    positions = [e.position for result in results for e in result]
    assert positions == list(range(positions[0], positions[0] + 15))
    for job, result in zip(jobs, results, strict=True):
        history = await store.log.read_stream(job)
        assert history[-len(result):] == result
        row = await store.status.get_status(job)
        assert (row.version, row.last_position) == (history[-1].version, result[-1].position)
        assert (await audit.verify_job(store, job)).first_break is None


async def test_append_all_of_nothing_writes_nothing(store):
    """A bulk action's page whose jobs all need no event appends none (it was a 500 on PostgreSQL)."""
    head = await store.log.head()

    assert await store.log.append_all([]) == []

    assert await store.log.head() == head


async def test_append_all_writes_nothing_when_any_append_is_stale(store):
    jobs = [uuid4() for _ in range(6)]
    for job in jobs[3:]:
        await store.log.append(job, 0, new_events(1))
    head = await store.log.head()
    requests = [AppendRequest(job, 0, new_events(2), status_row(job, "queued", 2)) for job in jobs]

    with pytest.raises(AppendsRefused) as refused:
        await store.log.append_all(requests)

    assert [(c.stream_id, c.expected_version, c.current_version) for c in refused.value.conflicts] == [
        (job, 0, 1) for job in jobs[3:]
    ]
    assert await store.log.head() == head
    assert [len(await store.log.read_stream(job)) for job in jobs] == [0, 0, 0, 1, 1, 1]
    assert [await store.status.get_status(job) for job in jobs[:3]] == [None] * 3
    after = await store.log.append(jobs[0], 0, new_events(1))  # nothing of the refused run is left in the way
    assert after[0].position > head


def status_row(job, status: str, version: int, type_: str = "t", tenant: str = "default") -> dict:
    """The status row of a bare job at `version`."""
    return job_status.row(
        Job(
            id=job, type=type_, tenant=tenant, status=Status(status), payload=None, metadata={}, phases=(),
            priority=0, max_attempts=1, created_at=T0, updated_at=T0, expires_at=T0 + timedelta(days=1),
            version=version,
        )
    )


async def test_hash_chains_hold_when_instances_take_turns_on_a_job(db_url):
    """Each instance chains the events of the jobs it wrote last itself (PostgreSQL) and leaves
    the others to the database: turns between two instances, and a stale append from the
    instance whose remembered head is now old, keep one unbroken chain."""
    a, b = await storage.open_stores(db_url), await storage.open_stores(db_url)
    try:
        job = uuid4()
        await a.log.append(job, 0, new_events(2))
        await b.log.append(job, 2, new_events(1, start=2))  # b never saw this job
        await a.log.append(job, 3, new_events(2, start=3))  # a's last head (2) is behind
        with pytest.raises(errors.VersionConflict):
            await a.log.append(job, 1, new_events(1))  # stale
        await a.log.append(job, 5, new_events(1, start=5))
        with pytest.raises(errors.VersionConflict):
            await b.log.append(job, 3, new_events(1))  # b's remembered head (3) is stale
        history = await b.log.read_stream(job)
        assert [e.version for e in history] == list(range(1, 7))
        assert (await audit.verify_job(b, job)).first_break is None
    finally:
        await a.close()
        await b.close()


async def test_read_all_pages_in_position_order(store):
    for _ in range(5):
        await store.log.append(uuid4(), 0, new_events(7))
    seen, after = [], 0
    while page := await store.log.read_all(after=after, limit=4):
        seen += page
        after = page[-1].position
    assert len(seen) == 35
    assert [e.position for e in seen] == sorted({e.position for e in seen})
    assert await store.log.head() == seen[-1].position


async def test_acknowledged_events_survive_reopening(db_url):
    store = await storage.open_stores(db_url)
    job = uuid4()
    written = await store.log.append(job, 0, new_events(4))
    await store.close()
    store = await storage.open_stores(db_url)
    try:
        assert await store.log.read_stream(job) == written
    finally:
        await store.close()


async def test_follower_sees_every_event_once_in_order_under_concurrent_writers(db_url):
    """DESIGN invariant 3: 8 writer instances, a follower reading `after` its last position."""
    writers = [await storage.open_stores(db_url) for _ in range(8)]
    follower = await storage.open_stores(db_url)
    done = asyncio.Event()

    async def write(store, n_jobs=12, per_job=8):
        jobs = [uuid4() for _ in range(n_jobs)]
        for version in range(per_job):
            await asyncio.gather(*(store.log.append(j, version, new_events(1, version)) for j in jobs))

    async def follow():
        seen, after = [], 0
        while True:
            finished = done.is_set()
            page = await follower.log.read_all(after=after, limit=50)
            seen += page
            after = page[-1].position if page else after
            if finished and not page:
                return seen
            await asyncio.sleep(0)

    try:
        reader = asyncio.create_task(follow())
        await asyncio.gather(*(write(s) for s in writers))
        done.set()
        seen = await reader
        log = await follower.log.read_all(after=0, limit=100_000)
        assert len(log) == 8 * 12 * 8
        assert [e.position for e in seen] == [e.position for e in log]
    finally:
        for s in writers + [follower]:
            await s.close()


async def test_count_by_type_and_status_groups_the_status_read_model(store):
    jobs = Jobs(store)
    ids = {}
    for name, job_type in [("a", "ocr"), ("b", "ocr"), ("c", "ocr"), ("d", "mail")]:
        ids[name] = (await jobs.create(commands.CreateJob(type=job_type), {}))[0].job.id
    await jobs.execute(ids["a"], commands.StartJob(), {})
    await jobs.execute(ids["b"], commands.StartJob(), {})
    await jobs.execute(ids["b"], commands.CompleteJob(None), {})
    await jobs.execute(ids["d"], commands.CancelJob("no", "t"), {})
    assert await store.status.count_by_type_and_status() == {
        ("ocr", "running"): 1, ("ocr", "completed"): 1, ("ocr", "queued"): 1, ("mail", "cancelled"): 1,
    }
