"""KeyedLock: commands on one job take turns; a waiter cancelled while (or just after) it is handed the lock passes it on."""

import asyncio

from jobledger.application.keyed_lock import KeyedLock


async def _hold(locks: KeyedLock, key, log: list, name: str, pause: float = 0.01) -> None:
    await locks.acquire(key)
    try:
        log.append(f"{name} in")
        await asyncio.sleep(pause)
        log.append(f"{name} out")
    finally:
        locks.release(key)


async def test_holders_of_one_key_take_turns_in_arrival_order_and_other_keys_do_not_wait():
    locks, log = KeyedLock(), []
    await asyncio.gather(_hold(locks, 1, log, "a"), _hold(locks, 1, log, "b"), _hold(locks, 2, log, "c"))
    assert log.index("a out") < log.index("b in")
    assert log.index("c in") < log.index("a out")  # another key ran beside a
    assert locks._waiters == {}  # nothing kept once nobody holds a key


async def test_a_cancelled_waiter_leaves_the_queue_and_the_next_one_gets_the_lock():
    locks, log = KeyedLock(), []
    first = asyncio.create_task(_hold(locks, "job", log, "a", pause=0.05))
    await asyncio.sleep(0)
    second = asyncio.create_task(_hold(locks, "job", log, "b"))
    third = asyncio.create_task(_hold(locks, "job", log, "c"))
    await asyncio.sleep(0.01)
    second.cancel()
    await asyncio.gather(first, third, return_exceptions=True)
    assert second.cancelled()
    assert log == ["a in", "a out", "c in", "c out"]
    assert locks._waiters == {}


async def test_a_waiter_cancelled_after_the_lock_was_handed_to_it_passes_it_on():
    locks = KeyedLock()
    await locks.acquire("job")
    waiting = asyncio.create_task(locks.acquire("job"))
    after = asyncio.create_task(locks.acquire("job"))
    await asyncio.sleep(0)
    locks.release("job")  # handed to `waiting`, which has not run yet
    waiting.cancel()  # ...and is cancelled before it does
    await asyncio.wait_for(after, 1)  # the lock reached the next waiter instead of being lost
    locks.release("job")
    assert waiting.cancelled()
    assert locks._waiters == {}
