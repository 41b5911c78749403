"""The log follower hands on every committed event once, in order, woken by the store."""

import asyncio
from uuid import uuid4

from jobledger.eventlog.follower import LogFollower
from jobledger.application import storage
from tests.eventlog.test_contract import new_events, status_row


async def test_follower_is_woken_by_appends_from_another_instance(db_url):
    writer = await storage.open_stores(db_url)
    reader = await storage.open_stores(db_url)
    follower = LogFollower(reader.log, poll_interval=30)  # only a wake-up can deliver in time
    received = []
    follower.subscribe(received.extend)
    await follower.start()
    try:
        if reader.backend == "sqlite":  # SQLite serves one process: the same instance appends
            writer = reader
        job = uuid4()
        written = await writer.log.append(job, 0, new_events(3))
        assert await follower.wait_past(written[-1].position, timeout=5)
        assert received == written
    finally:
        await follower.stop()
        for s in {id(writer): writer, id(reader): reader}.values():
            await s.close()


async def test_follower_delivers_in_order_while_many_append(store):
    follower = LogFollower(store.log, poll_interval=30)
    received = []
    follower.subscribe(received.extend)
    await follower.start()
    try:
        jobs = [uuid4() for _ in range(20)]
        for version in range(5):
            await asyncio.gather(*(store.log.append(j, version, new_events(1, version)) for j in jobs))
        head = await store.log.head()
        assert await follower.wait_past(head, timeout=5)
        assert received == await store.log.read_all(after=0, limit=1000)
    finally:
        await follower.stop()



async def test_listeners_hear_the_status_rows_written_here_and_by_other_instances(db_url):
    """A listener learns each status row a commit wrote, as (tenant, job type, status): its own
    instance's at once, another instance's through NOTIFY (PostgreSQL). Long polls wake by it."""
    writer = await storage.open_stores(db_url)
    listener = await storage.open_stores(db_url) if writer.backend == "postgresql" else writer
    heard: list = []
    news = asyncio.Event()

    def hear(written):
        heard.append(written)
        news.set()

    async def told() -> list:
        await asyncio.wait_for(news.wait(), 5)
        await asyncio.sleep(0.2)  # a commit is heard once more through its own NOTIFY
        said = heard.copy()
        heard.clear()
        news.clear()
        return said

    await listener.log.listen(hear)
    try:
        if listener is not writer:  # once its LISTEN connection is up, it is told "anything may have moved"
            assert await told() == [None]
        job, other = uuid4(), uuid4()
        await writer.log.append(job, 0, new_events(1), status_row(job, "queued", 1, "report"))
        said = await told()
        assert said and all(written == {("default", "report", "queued")} for written in said), said

        await asyncio.gather(
            writer.log.append(job, 1, new_events(1, 1), status_row(job, "running", 2, "report")),
            writer.log.append(other, 0, new_events(1), status_row(other, "queued", 1, "email", "acme")),
        )
        said = await told()
        assert set().union(*said) == {("default", "report", "running"), ("acme", "email", "queued")}, said

        await writer.log.append(uuid4(), 0, new_events(1))  # log only: no status row to tell of
        assert None in await told()
    finally:
        for s in {id(writer): writer, id(listener): listener}.values():
            await s.close()
