"""The log follower hands on every committed event once, in order, woken by the store."""

import asyncio
from dataclasses import replace
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


def typed(type_: str, n: int = 1) -> list:
    return [replace(e, type=type_) for e in new_events(n)]


async def test_listeners_hear_the_event_types_written_here_and_by_other_instances(db_url):
    """A listener learns which event types a commit wrote: its own instance's at once, another
    instance's through NOTIFY (PostgreSQL). A waiting claim wakes only for some types."""
    writer = await storage.open_store(db_url)
    listener = await storage.open_store(db_url) if writer.backend == "postgresql" else writer
    heard: list[frozenset[str] | None] = []
    news = asyncio.Event()

    def hear(types):
        heard.append(types)
        news.set()

    await listener.listen(hear)
    try:
        if listener is not writer:  # once its LISTEN connection is up, it is told "anything may have moved"
            await asyncio.wait_for(news.wait(), 5)
            assert heard == [None]
            heard.clear()
            news.clear()
        job = uuid4()
        await writer.append(job, 0, typed("JobCreated") + typed("ProgressReported", 2))
        await asyncio.wait_for(news.wait(), 5)
        await asyncio.sleep(0.2)  # a NOTIFY from the writer of its own commit comes once
        assert heard and all(types == {"JobCreated", "ProgressReported"} for types in heard), heard

        heard.clear()
        await asyncio.gather(writer.append(job, 3, typed("LeaseExtended")), writer.append(uuid4(), 0, typed("JobCreated")))
        await asyncio.sleep(0.2)
        assert heard and set().union(*heard) == {"LeaseExtended", "JobCreated"}, heard
    finally:
        for s in {id(writer): writer, id(listener): listener}.values():
            await s.close()
