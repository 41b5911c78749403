"""The event log on PostgreSQL (asyncpg).

Appends go through the `jobledger_append` function (migrations 0008, 0009; appends.py): one
round trip and one commit per group-committed batch, several batches in flight at once.
Their commits overlap, so positions do not become visible in order; readers of the log see
only settled events (`SETTLED`), which keeps `position > N` gapless.
"""

import asyncio
import contextlib
import operator
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

import asyncpg

from jobledger.domain import errors
from jobledger.eventlog import chain, codec
from jobledger.eventlog.appender import GroupCommitter
from jobledger.eventlog.postgres import outage
from jobledger.eventlog.postgres.appends import APPEND_LOCK, Appends, outcomes
from jobledger.eventlog.postgres.connection import APPEND_LANES, Database
from jobledger.eventlog.records import (
    AppendRequest,
    AppendsRefused,
    Listener,
    NewEvent,
    Outcome,
    RecordedEvent,
    init_recorded,
)

HOLD_BACK_WAIT = 0.25  # seconds a read waits for events held back by an older running transaction
# An event is settled when its transaction is older than every transaction still running
# (the statement snapshot's xmin). 0008's appends draw their transaction id and their
# positions together under a short lock, so a running append, which holds a newer id than
# every settled event, also holds greater positions: settled events are a prefix of the
# log in position order, and nothing can commit into it later.
# The xmin is the whole server's: a transaction of another database, which cannot be an
# append to this log, holds nothing back once it is seen running there (a backend's
# database never changes). The second test runs only for events past the xmin.
_OTHER_DATABASES = (
    "SELECT backend_xid::text::bigint FROM pg_stat_get_activity(NULL) WHERE backend_xid IS NOT NULL"
    " AND datid <> (SELECT oid FROM pg_database WHERE datname = current_database())"
)
SETTLED = (
    "(tx < (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"
    " OR tx < (SELECT least(pg_snapshot_xmax(pg_current_snapshot())::text::bigint, min(x::text::bigint))"
    " FROM pg_snapshot_xip(pg_current_snapshot()) AS x"
    f" WHERE x::text::bigint % 4294967296 NOT IN ({_OTHER_DATABASES})))"
)
_EVENT_COLUMNS = (
    "position, stream_id, version, type, schema_version, data::text AS data, metadata::text AS metadata, "
    "recorded_at, hash"
)
_IMPORT_COLUMNS = [
    "position", "stream_id", "version", "type", "schema_version", "data", "metadata", "recorded_at", "hash",
]
_import_record = operator.attrgetter(*_IMPORT_COLUMNS)  # an exported event as COPY takes it


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    event = object.__new__(RecordedEvent)
    init_recorded(
        event, position=row["position"], stream_id=row["stream_id"], version=row["version"], type=row["type"],
        schema_version=row["schema_version"], data=codec.loads(row["data"]), metadata=codec.loads(row["metadata"]),
        recorded_at=row["recorded_at"], hash=row["hash"],
    )
    return event


def _raw(row: asyncpg.Record) -> chain.RawEvent:
    """A row of _EVENT_COLUMNS, which are RawEvent's fields in its order (by index: a verification reads them all)."""
    return chain.RawEvent(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8])


def _settled_prefix(rows: list[asyncpg.Record]) -> int:
    """How many rows, from the first, are settled."""
    return next((i for i, row in enumerate(rows) if not row["settled"]), len(rows))


class PostgresLog:
    def __init__(self, db: Database, appends: Appends):
        self.db = db
        self.appends = appends
        self._appender = GroupCommitter(self._write_batch, lanes=APPEND_LANES)

    async def close(self) -> None:
        """Let queued appends finish."""
        await self._appender.close()

    async def listen(self, callback: Listener) -> None:
        """Call `callback(written)` whenever the log may have moved, whichever instance appended."""
        self.db.wakeups.listen(callback)

    async def append(
        self, stream_id: UUID, expected_version: int, events: Sequence[NewEvent], state: dict[str, Any] | None = None
    ) -> list[RecordedEvent]:
        """Append `events` after `expected_version`, or raise VersionConflict and append nothing."""
        return await self._appender.submit(AppendRequest(stream_id, expected_version, events, state))

    async def append_all(self, requests: Sequence[AppendRequest]) -> list[list[RecordedEvent]]:
        """All of `requests` in one transaction of their own, or none (AppendsRefused)."""
        if not requests:
            return []  # nothing to write: no transaction (the append function takes no empty batch)
        async with self.db.connection() as conn, conn.transaction():
            results = outcomes(requests, await self.appends.send(conn, list(requests)))
            refused = [o for o in results if isinstance(o, Exception)]
            if refused:
                raise AppendsRefused(refused)  # and the transaction rolls back what the others wrote
        return self.appends.after_commit(requests, results)

    async def _write_batch(self, batch: list[AppendRequest], lane: int = 0) -> list[Outcome]:
        try:
            with outage.translated():
                row = await self.appends.send(await self.db.append_connection(lane), batch)
        except errors.StoreUnavailable:
            # The outcome is unknown if the connection died after the commit was sent: the
            # callers get 503, never a guess; the next batch opens a new connection.
            self.db.drop_append_connection(lane)
            raise
        return self.appends.after_commit(batch, outcomes(batch, row))

    async def read_stream(self, stream_id: UUID) -> list[RecordedEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version"
        return [_recorded(r) for r in await self.db.fetch(sql, stream_id)]

    async def created_traces(self, stream_ids: Sequence[UUID]) -> dict[UUID, dict[str, str]]:
        sql = "SELECT stream_id, metadata FROM events WHERE version = 1 AND stream_id = ANY($1::uuid[])"
        return {r["stream_id"]: codec.trace_context(r["metadata"]) for r in await self.db.fetch(sql, list(stream_ids))}

    async def _settled_after(self, after: int, limit: int, columns: str = _EVENT_COLUMNS) -> list[asyncpg.Record]:
        """Settled events after `after`, in position order: a caller reads its own appends,
        held back for a moment at most (see _await_settled). A read again takes only what
        was held back, from the last settled event on."""
        sql = (
            f"SELECT {columns}, {SETTLED} AS settled FROM events WHERE position > $1 "
            "ORDER BY position LIMIT $2"
        )
        rows = await self.db.fetch(sql, after, limit)
        settled = rows[: _settled_prefix(rows)]

        def reached() -> int:
            return settled[-1]["position"] if settled else after

        async def again() -> int:
            rows = await self.db.fetch(sql, reached(), limit - len(settled))
            settled.extend(rows[: _settled_prefix(rows)])
            return reached()

        await self._await_settled(reached(), rows[-1]["position"] if rows else after, again)
        return settled

    async def _await_settled(self, reached: int, target: int, again: Callable[[], Awaitable[int]]) -> None:
        """Read `again()` (the last settled position it reaches) until what the first read found
        committed, up to `target`, is settled, for at most HOLD_BACK_WAIT. Events committed
        after the first read are not waited for: under a steady load something newer is
        always held back."""
        delay, deadline = 0.001, time.monotonic() + HOLD_BACK_WAIT
        while reached < target and time.monotonic() + delay < deadline:
            # what holds it back is most often this instance's own append: its commit wakes us
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self.db.wakeups.commit_seen.wait()
            delay = min(delay * 2, 0.02)
            reached = await again()

    async def read_all(self, *, after: int = 0, limit: int = 500) -> list[RecordedEvent]:
        return [_recorded(r) for r in await self._settled_after(after, limit)]

    async def head(self) -> int:
        """The last settled position (a follower that starts there misses nothing after it),
        waiting as reads do for committed events held back."""
        sql = (
            f"SELECT (SELECT coalesce(max(position), 0) FROM events WHERE {SETTLED}) AS settled,"
            " (SELECT coalesce(max(position), 0) FROM events) AS committed"
        )
        first = (await self.db.fetch(sql))[0]
        settled = first["settled"]

        async def again() -> int:
            nonlocal settled
            settled = (await self.db.fetch(sql))[0]["settled"]
            return settled

        await self._await_settled(settled, first["committed"], again)
        return settled

    async def raw_stream(self, stream_id: UUID) -> list[chain.RawEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY position"
        return [_raw(r) for r in await self.db.fetch(sql, stream_id)]

    async def raw_all(self, *, after: int = 0, limit: int = 5000) -> list[chain.RawEvent]:
        return [_raw(r) for r in await self._settled_after(after, limit)]

    async def leaf_rows(self, *, after: int = 0, limit: int = 5000) -> list[tuple[int, UUID, bytes | None]]:
        return [(r[0], r[1], r[2]) for r in await self._settled_after(after, limit, "position, stream_id, leaf")]

    async def import_events(self, events: list[chain.RawEvent]) -> None:
        """Write exported events as they were (positions and hashes kept) into this log."""
        records = [_import_record(e) for e in events]
        async with self.db.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
            await conn.copy_records_to_table("events", records=records, columns=_IMPORT_COLUMNS)
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('events', 'position'), (SELECT max(position) FROM events))"
            )
