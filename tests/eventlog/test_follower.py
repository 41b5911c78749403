"""The log follower hands on every committed event once, in order, woken by the store."""

import asyncio
from uuid import uuid4

from eventlog.follower import LogFollower
from service import storage
from tests.eventlog.test_contract import new_events


async def test_follower_is_woken_by_appends_from_another_instance(db_url):
    writer = await storage.open_store(db_url)
    reader = await storage.open_store(db_url)
    follower = LogFollower(reader, poll_interval=30)  # only a wake-up can deliver in time
    received = []
    follower.subscribe(received.extend)
    await follower.start()
    try:
        if reader.backend == "sqlite":  # SQLite serves one process: the same instance appends
            writer = reader
        job = uuid4()
        written = await writer.append(job, 0, new_events(3))
        assert await follower.wait_past(written[-1].position, timeout=5)
        assert received == written
    finally:
        await follower.stop()
        for s in {id(writer): writer, id(reader): reader}.values():
            await s.close()


async def test_follower_delivers_in_order_while_many_append(store):
    follower = LogFollower(store, poll_interval=30)
    received = []
    follower.subscribe(received.extend)
    await follower.start()
    try:
        jobs = [uuid4() for _ in range(20)]
        for version in range(5):
            await asyncio.gather(*(store.append(j, version, new_events(1, version)) for j in jobs))
        head = await store.head()
        assert await follower.wait_past(head, timeout=5)
        assert received == await store.read_all(after=0, limit=1000)
    finally:
        await follower.stop()
