"""PostgreSQL appends commit side by side (migration 0008): a follower must still never skip one.

An append still running holds positions smaller than those of a later append that has
already committed. These tests hold such an append open on a connection of their own and
check that nothing past it is read, through the store and through GET /events, until it
commits. SQLite has one writer: nothing there is ever held back.
"""

import asyncio
from uuid import uuid4

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from jobledger.eventlog.postgres import appends
from jobledger.eventlog.postgres import log as pg_log
from jobledger.eventlog.records import AppendRequest
from jobledger.application import storage
from jobledger.web.app import create_app
from jobledger.web.config import Settings
from tests.eventlog.test_contract import new_events


@pytest.fixture
async def pg_store(pg_url):
    store = await storage.open_stores(pg_url)
    yield store
    await store.close()


@pytest.fixture
async def held_open(pg_url):
    """`await held_open(job)`: an append of one event to `job`, its transaction left open;
    returns (connection, position). Rolled back at the end unless the test committed it."""
    conns = []

    async def begin(job) -> tuple[asyncpg.Connection, int]:
        conn = await asyncpg.connect(pg_url)
        conns.append(conn)
        await conn.execute("BEGIN")
        rows = await conn.fetch(appends.APPEND.sql, *appends.APPEND.args(appends.append_args([AppendRequest(job, 0, new_events(1))])))
        return conn, rows[0]["first_position"]

    yield begin
    for conn in conns:
        await conn.close()


async def test_an_event_behind_a_running_append_is_not_read_until_that_append_commits(pg_store, held_open):
    slow, held_position = await held_open(uuid4())
    later = await pg_store.log.append(uuid4(), 0, new_events(1))
    assert later[0].position > held_position

    assert await pg_store.log.read_all(after=0) == []
    assert await pg_store.log.head() == 0

    await slow.execute("COMMIT")
    log = await pg_store.log.read_all(after=0)
    assert [e.position for e in log] == [held_position, later[0].position]
    assert await pg_store.log.head() == later[0].position


async def test_a_read_waits_for_a_held_back_event_that_commits_meanwhile_and_returns_all_in_order(
    pg_store, held_open
):
    """The read finds settled events, then one held back, then a later committed one: it
    reads again from where the settled ones end (not the whole page) once the holder commits."""
    before = [e.position for e in await pg_store.log.append(uuid4(), 0, new_events(3))]
    slow, held_position = await held_open(uuid4())
    later = await pg_store.log.append(uuid4(), 0, new_events(2))

    async def commit_soon() -> None:
        await asyncio.sleep(pg_log.HOLD_BACK_WAIT / 5)
        await slow.execute("COMMIT")
        pg_store.log.db.wakeups.committed(frozenset({("default", "t", "running")}))  # the test's own connection: wake the waiting read as a local commit would

    reading = asyncio.ensure_future(pg_store.log.read_all(after=0, limit=6))
    await commit_soon()
    log = await reading
    assert [e.position for e in log] == [*before, held_position, *(e.position for e in later)]
    assert await pg_store.log.head() == later[-1].position


async def test_a_rolled_back_append_leaves_a_gap_that_holds_nothing_back(pg_store, held_open):
    slow, held_position = await held_open(uuid4())
    later = await pg_store.log.append(uuid4(), 0, new_events(1))

    await slow.execute("ROLLBACK")

    assert [e.position for e in await pg_store.log.read_all(after=0)] == [later[0].position]


async def test_a_follower_hands_on_a_held_back_event_before_the_later_one(pg_store, held_open):
    from jobledger.eventlog.follower import LogFollower

    follower = LogFollower(pg_store.log, poll_interval=30)
    received = []
    follower.subscribe(received.extend)
    await follower.start()
    try:
        slow, held_position = await held_open(uuid4())
        later = await pg_store.log.append(uuid4(), 0, new_events(1))
        await asyncio.sleep(pg_log.HOLD_BACK_WAIT * 2)
        assert received == []
        await slow.execute("COMMIT")
        pg_store.log.db.wakeups.committed(frozenset({("default", "t", "running")}))  # the test's own connection sent no NOTIFY
        assert await follower.wait_past(later[0].position, timeout=5)
        assert [e.position for e in received] == [held_position, later[0].position]
    finally:
        await follower.stop()


async def test_get_events_holds_back_what_a_running_append_may_still_precede(pg_url, held_open):
    client = TestClient(TestServer(create_app(Settings(db=pg_url, sweep_interval=0.05))))
    await client.start_server()
    try:
        slow, held_position = await held_open(uuid4())
        created = await client.post("/jobs", json={"type": "report"})
        assert created.status == 201

        assert (await (await client.get("/events?after=0")).json())["events"] == []

        await slow.execute("COMMIT")
        events = (await (await client.get("/events?after=0")).json())["events"]
        assert [e["position"] for e in events][0] == held_position
        assert [e["type"] for e in events] == ["ProgressReported", "JobCreated"]
    finally:
        await client.close()


async def test_an_append_after_another_write_in_its_transaction_is_refused(pg_url):
    """Its transaction id would have been drawn before its positions, out of step with them."""
    await storage.migrate(pg_url)
    conn = await asyncpg.connect(pg_url)
    try:
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE scratch (x int)")
            await conn.execute("INSERT INTO scratch VALUES (1)")
            with pytest.raises(asyncpg.RaiseError, match="first write of its transaction"):
                await conn.fetch(
                    appends.APPEND.sql, *appends.APPEND.args(appends.append_args([AppendRequest(uuid4(), 0, new_events(1))]))
                )
        assert await conn.fetchval("SELECT count(*) FROM events") == 0
    finally:
        await conn.close()


async def test_transaction_ids_follow_positions_under_concurrent_appends(pg_url):
    """What settled reads rest on: a later position never belongs to an older transaction."""
    writers = [await storage.open_stores(pg_url) for _ in range(8)]
    try:
        async def write(store):
            for version in range(25):
                jobs = [uuid4() for _ in range(8)]
                await asyncio.gather(*(store.log.append(j, 0, new_events(1 + version % 3)) for j in jobs))

        await asyncio.gather(*(write(s) for s in writers))
        conn = await asyncpg.connect(pg_url)
        try:
            out_of_step = await conn.fetchval(
                "SELECT count(*) FROM (SELECT tx, lag(tx) OVER (ORDER BY position) AS before FROM events) s"
                " WHERE tx < before"
            )
            transactions = await conn.fetchval("SELECT count(DISTINCT tx) FROM events")
        finally:
            await conn.close()
        assert out_of_step == 0
        assert transactions > 8  # batches of the eight instances did commit apart
    finally:
        for s in writers:
            await s.close()
