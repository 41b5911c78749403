"""Follow the log: read every committed event once, in position order, and hand it on.

The store says when the log may have moved (PostgreSQL: LISTEN/NOTIFY, which carries no
event; SQLite: after each local commit). The follower then reads `position > last_seen`
from the log itself; the store reads only settled events (nothing can still commit before
them: eventlog/postgres/log.py, SQLite's single writer), which makes that gapless. A slow poll
covers a lost notification or connection.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

from jobledger.domain import errors
from jobledger.eventlog.protocols import EventLog
from jobledger.eventlog.records import RecordedEvent, Written

logger = logging.getLogger("jobledger.follower")

Subscriber = Callable[[list[RecordedEvent]], None]


class LogFollower:
    def __init__(self, log: EventLog, *, poll_interval: float = 1.0, page: int = 1000):
        self.log = log
        self.position = 0
        self._poll_interval = poll_interval
        self._page = page
        self._subscribers: list[Subscriber] = []
        self._moved = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._caught_up = asyncio.Condition()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` with each new batch of events; returns the unsubscribe function."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber) if subscriber in self._subscribers else None

    def poke(self, _written: Written | None = None) -> None:
        """The log may have moved (whatever was written): read it now."""
        self._moved.set()

    async def start(self) -> None:
        self.position = await self.log.head()
        await self.log.listen(self.poke)
        self._task = asyncio.create_task(self._run(), name="jobledger-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_past(self, position: int, timeout: float) -> bool:
        """Wait until the follower has handed on `position`; False on timeout."""
        async with self._caught_up:
            try:
                async with asyncio.timeout(timeout):
                    await self._caught_up.wait_for(lambda: self.position >= position)
            except TimeoutError:
                return False
        return True

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):  # not wait_for: it can swallow a cancel on 3.11
                    await self._moved.wait()
            self._moved.clear()
            try:
                await self._drain()
            except errors.StoreUnavailable as exc:
                logger.warning("log follower paused: %s", exc)
            except Exception:
                logger.exception("log follower failed; retrying")

    async def _drain(self) -> None:
        while batch := await self.log.read_all(after=self.position, limit=self._page):
            self.position = batch[-1].position
            for subscriber in list(self._subscribers):
                try:
                    subscriber(batch)
                except Exception:
                    logger.exception("log subscriber failed")
            async with self._caught_up:
                self._caught_up.notify_all()
            if len(batch) < self._page:
                return
