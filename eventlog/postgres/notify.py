"""Wake-ups on PostgreSQL: each instance's followers hear its own commits at once, and other
instances' through LISTEN/NOTIFY. A notification says only what was written, never which
events: listeners read those from the log."""

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
import orjson

from jobledger.eventlog.postgres import outage
from jobledger.eventlog.records import Listener, Written

CHANNEL = "jobledger_events"  # notified after commits, once per wake-up (see _notify_forever)
# A NOTIFY's payload: the (tenant, job type, status) of the status rows committed since the one before, as
# JSON; empty where not known, or over this many characters (listeners then take it as "any job").
NOTIFY_PAYLOAD_LENGTH = 1000
NOTIFY_GATHER = 0.002  # seconds a NOTIFY waits for more commits to wake other instances about
log = logging.getLogger("jobledger.postgres")


class Wakeups:
    """The listeners of one instance, and its LISTEN and NOTIFY connections."""

    def __init__(self, dsn: str):
        self._dsn = dsn
        self._listeners: list[Listener] = []
        self._listen_task: asyncio.Task | None = None
        self._notify_wanted = asyncio.Event()
        self._notify_written: set[tuple[str, str, str]] | None = set()  # status rows committed since the last NOTIFY
        self._notify_task: asyncio.Task | None = None
        self._notify_conn: asyncpg.Connection | None = None
        self.commit_seen = asyncio.Event()  # set at every local commit: a held-back read tries again

    def listen(self, callback: Listener) -> None:
        """Call `callback(written)` whenever the log may have moved, whichever instance appended."""
        self._listeners.append(callback)
        if self._listen_task is None:
            self._listen_task = asyncio.create_task(self._listen_forever(), name="jobledger-listen")

    def _moved(self, written: Written | None) -> None:
        for callback in self._listeners:
            callback(written)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._moved(_written_of(payload))

    def committed(self, written: Written | None) -> None:
        """Appends that wrote `written` committed: wake this instance's followers now, other
        instances' by NOTIFY."""
        self._moved(written)
        self.commit_seen.set()
        self.commit_seen = asyncio.Event()
        if written is not None and not written:  # every append was refused: nothing to tell
            return
        if written is None or self._notify_written is None:
            self._notify_written = None
        else:
            self._notify_written |= written
        self._notify_wanted.set()
        if self._notify_task is None:
            self._notify_task = asyncio.create_task(self._notify_forever(), name="jobledger-notify")

    async def _notify_forever(self) -> None:
        """One NOTIFY per wake-up, however many batches committed meanwhile, from a
        transaction of its own: NOTIFY serialises the commits of the transactions that
        send it, and inside the appends it would keep them from overlapping."""
        while True:
            await self._notify_wanted.wait()
            await asyncio.sleep(NOTIFY_GATHER)  # the commits of the next moment ride on this one
            self._notify_wanted.clear()
            written, self._notify_written = self._notify_written, set()
            payload = "" if written is None else orjson.dumps(sorted(written)).decode()
            try:
                await self._notify(payload if len(payload) <= NOTIFY_PAYLOAD_LENGTH else "")
            except Exception as exc:  # noqa: BLE001 - other instances' followers poll meanwhile
                log.warning("NOTIFY failed: %s", exc)
                if self._notify_conn is not None:
                    self._notify_conn.terminate()
                self._notify_conn = None
                await asyncio.sleep(0.5)

    async def _notify(self, payload: str) -> None:
        if self._notify_conn is None or self._notify_conn.is_closed():
            self._notify_conn = await outage.connect(self._dsn)
            # nothing rides on it but a wake-up (followers also poll): no WAL flush to wait for
            await self._notify_conn.execute("SET synchronous_commit = off")
        await self._notify_conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)

    async def _listen_forever(self) -> None:
        while True:
            conn = None
            try:
                conn = await outage.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _: lost.set())
                await conn.add_listener(CHANNEL, self._notified)
                self._moved(None)  # anything appended while we were not listening
                await lost.wait()
            except Exception as exc:  # reconnect whatever went wrong; the follower also polls
                log.warning("LISTEN connection lost: %s", exc)
            finally:
                if conn is not None:
                    conn.terminate()  # holds nothing but the LISTEN: no need to wait for a clean close
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        for task in (self._listen_task, self._notify_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._notify_conn is not None:
            self._notify_conn.terminate()  # holds nothing; its last NOTIFY may have been cancelled


def _written_of(payload: str) -> Written | None:
    """What a NOTIFY's payload says was written; None where it does not say (empty, or not ours)."""
    try:
        rows = orjson.loads(payload) if payload else None
        return frozenset((tenant, type_, status) for tenant, type_, status in rows) if isinstance(rows, list) else None
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return None
