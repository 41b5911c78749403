"""A lock per key, for commands on one job to take turns within this instance."""

import asyncio
import collections
import contextlib
from typing import Any


class KeyedLock:
    """One lock per key: `acquire` waits while another holder of the key runs, `release`
    hands it to the next waiter. Nothing is kept for a key nobody holds (the uncontended
    case, a job's commands from one worker, costs two dict operations)."""

    def __init__(self) -> None:
        self._waiters: dict[Any, collections.deque[asyncio.Future]] = {}

    async def acquire(self, key: Any) -> None:
        waiters = self._waiters.get(key)
        if waiters is None:
            self._waiters[key] = collections.deque()
            return
        waiter = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over just before the cancel: pass it on
                self.release(key)
            else:
                waiters.remove(waiter)
            raise

    def release(self, key: Any) -> None:
        waiters = self._waiters[key]
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        del self._waiters[key]

    @contextlib.asynccontextmanager
    async def held(self, key: Any):
        """`async with lock.held(key):` acquire, and release however the block ends."""
        await self.acquire(key)
        try:
            yield
        finally:
            self.release(key)

