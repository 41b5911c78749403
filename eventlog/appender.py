"""Group commit: concurrent appends are queued and written in one transaction per batch.

One commit per event caps appends at the disk's flush rate; the appender drains
everything queued while the previous batch was committing, so the commit cost is
shared. With `lanes` > 1, several batches are in flight at once: what is queued is
shared out among the idle lanes, so that a backend whose commits overlap (PostgreSQL)
works on them side by side and they share a WAL flush. Callers still get their own
result or conflict.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from jobledger.eventlog.records import AppendRequest, Outcome, RecordedEvent

MIN_SHARE = 64  # events: a lane does not take a smaller share of a longer queue...
# ...unless batches are small (few appends at a time, each waiting for its own commit): then
# a queue is shared out down to this size, so that commits overlap and share a WAL flush
# instead of queueing behind one another. Under a heavy load batches are large, and each
# batch's fixed cost is worth sharing among more appends.
SMALL_SHARE, SMALL_BATCH = 4, 16
# Appends a batch holds at most: on PostgreSQL each one locks its job until the commit,
# and the server's lock table is shared by every connection.
MAX_APPENDS = 128
WriteBatch = Callable[[list[AppendRequest], int], Awaitable[list[Outcome]]]


class GroupCommitter:
    def __init__(self, write_batch: WriteBatch, max_events: int = 2000, lanes: int = 1, max_appends: int = MAX_APPENDS):
        self._write_batch = write_batch
        self._max_events = max_events
        self._max_appends = max_appends
        self._lanes = lanes
        self._queue: list[tuple[AppendRequest, asyncio.Future]] = []
        self._idle: list[asyncio.Future] = []  # one per lane waiting for work: set to wake it
        self._tasks: list[asyncio.Task] = []
        self._busy = 0
        self._last_batch = 0  # events in the batch taken last
        self._writing: set = set()  # streams of the batches in flight: a later append to one waits its turn here

    async def submit(self, request: AppendRequest) -> list[RecordedEvent]:
        """Queue one append and wait until its batch has committed (or failed)."""
        loop = asyncio.get_running_loop()
        if not self._tasks:
            self._tasks = [loop.create_task(self._run(lane), name=f"jobledger-appender-{lane}") for lane in range(self._lanes)]
        future = loop.create_future()
        self._queue.append((request, future))
        while self._idle:  # one lane is enough: it takes what queues up before it runs
            waiter = self._idle.pop()
            if not waiter.done():  # (a lane being cancelled on close)
                waiter.set_result(None)
                break
        return await future

    def _wake_all(self) -> None:
        idle, self._idle = self._idle, []
        for waiter in idle:
            if not waiter.done():
                waiter.set_result(None)

    async def _idle_until_woken(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._idle.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self._idle.remove(waiter)
            raise

    def _take(self) -> list[tuple[AppendRequest, asyncio.Future]]:
        """The next batch, in arrival order: at most one append per stream (a later one
        to the same stream waits for the next batch), about `max_events` events, and this
        lane's share of the queue among the lanes now idle."""
        idle = self._lanes - self._busy
        queued = sum(len(request.events) for request, _ in self._queue)
        # a batch costs about as much to commit whatever its size: split only what is worth it
        least = SMALL_SHARE if self._last_batch < SMALL_BATCH and not self._busy else MIN_SHARE
        share = min(self._max_events, max(least, -(-queued // idle)))
        batch, rest, streams, count = [], [], set(), 0
        for item in self._queue:
            request = item[0]
            if (
                request.stream_id in streams
                or request.stream_id in self._writing
                or len(batch) == self._max_appends
                or (batch and count + len(request.events) > share)
            ):
                rest.append(item)
                continue
            streams.add(request.stream_id)
            count += len(request.events)
            batch.append(item)
        self._queue = rest
        if batch:
            self._last_batch = count
        return batch

    async def _run(self, lane: int) -> None:
        while True:
            batch = self._take() if self._queue else []
            if not batch:  # nothing queued, or all of it waits for streams another lane is writing
                await self._idle_until_woken()
                continue
            streams = {request.stream_id for request, _ in batch}
            self._busy += 1
            self._writing |= streams
            try:
                outcomes = await self._write_batch([request for request, _ in batch], lane)
            except Exception as exc:  # the whole batch failed: nothing of it committed
                outcomes = [exc] * len(batch)
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            finally:
                self._busy -= 1
                self._writing -= streams
            if self._queue:  # appends that waited for these streams, or for a free lane
                self._wake_all()
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the caller stopped waiting; its events may still be committed
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def close(self) -> None:
        """Let queued appends finish, then stop."""
        while self._queue or self._busy:
            await asyncio.sleep(0.001)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
