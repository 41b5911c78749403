"""Group commit: concurrent appends are queued and written in one transaction per batch.

One commit per event caps appends at the disk's flush rate; a single appender per
store instance drains everything queued while the previous batch was committing,
so the commit cost is shared. Callers still get their own result or conflict.
"""

import asyncio
from collections.abc import Awaitable, Callable

from eventlog.store import AppendRequest, RecordedEvent

Outcome = list[RecordedEvent] | Exception
WriteBatch = Callable[[list[AppendRequest]], Awaitable[list[Outcome]]]


class GroupCommitter:
    def __init__(self, write_batch: WriteBatch, max_events: int = 2000):
        self._write_batch = write_batch
        self._max_events = max_events
        self._queue: list[tuple[AppendRequest, asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._busy = False

    async def submit(self, request: AppendRequest) -> list[RecordedEvent]:
        """Queue one append and wait until its batch has committed (or failed)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="jobledger-appender")
        future = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        self._wake.set()
        return await future

    def _take(self) -> list[tuple[AppendRequest, asyncio.Future]]:
        count = taken = 0
        for taken, (request, _) in enumerate(self._queue, 1):
            count += len(request.events)
            if count >= self._max_events:
                break
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        return batch

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            batch = self._take()
            self._busy = True
            try:
                outcomes = await self._write_batch([request for request, _ in batch])
            except Exception as exc:  # the whole batch failed: nothing of it committed
                outcomes = [exc] * len(batch)
            except asyncio.CancelledError:
                for _, future in batch + self._queue:
                    future.cancel()
                raise
            finally:
                self._busy = False
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
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
