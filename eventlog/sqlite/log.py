"""The event log on SQLite, the embedded default.

Every append runs on the single writer (connection.py) inside BEGIN IMMEDIATE, so positions
are assigned and committed in the same order: a reader of `position > N` misses nothing.
"""

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from jobledger.domain import errors
from jobledger.eventlog import chain, codec
from jobledger.eventlog.appender import GroupCommitter
from jobledger.eventlog.records import (
    AppendRequest,
    AppendsRefused,
    Listener,
    NewEvent,
    Outcome,
    RecordedEvent,
    init_recorded,
    rows_written,
)
from jobledger.eventlog.sqlite import status
from jobledger.eventlog.sqlite.connection import Database, first, time_text

_EVENT_COLUMNS = "position, stream_id, version, type, schema_version, data, metadata, recorded_at, hash"
_INSERT_EVENT = (
    "INSERT INTO events (stream_id, version, type, schema_version, data, metadata, recorded_at, hash, leaf) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_IMPORT_EVENT = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_HEAD = "SELECT version, hash FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT 1"


def _recorded(row: sqlite3.Row) -> RecordedEvent:
    event = object.__new__(RecordedEvent)
    init_recorded(
        event, position=row["position"], stream_id=UUID(row["stream_id"]), version=row["version"], type=row["type"],
        schema_version=row["schema_version"], data=codec.loads(row["data"]), metadata=codec.loads(row["metadata"]),
        recorded_at=datetime.fromisoformat(row["recorded_at"]), hash=row["hash"],
    )
    return event


def _raw(row: sqlite3.Row) -> chain.RawEvent:
    return chain.RawEvent(
        position=row["position"], stream_id=UUID(row["stream_id"]), version=row["version"], type=row["type"],
        schema_version=row["schema_version"], data=row["data"], metadata=row["metadata"],
        recorded_at=datetime.fromisoformat(row["recorded_at"]), hash=row["hash"],
    )


def write_batch(conn: sqlite3.Connection, batch: Sequence[AppendRequest], all_or_none: bool = False) -> list[Outcome]:
    """The appends in one transaction, each accepted or refused on its own; `all_or_none`: none
    is written if any is refused (AppendsRefused)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcomes = [write_one(conn, request) for request in batch]
        if all_or_none and (refused := [o for o in outcomes if isinstance(o, Exception)]):
            raise AppendsRefused(refused)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return outcomes


def write_one(conn: sqlite3.Connection, request: AppendRequest) -> Outcome:
    """One append, and its status row, in the writer's open transaction; its VersionConflict if refused."""
    sid = request.stream_id.hex
    head = first(conn, _HEAD, (sid,))
    current, previous_hash = (head["version"], head["hash"]) if head is not None else (0, "")
    if current != request.expected_version:
        return errors.VersionConflict(request.stream_id, request.expected_version, current)
    recorded, stream = [], str(request.stream_id)
    for version, e in enumerate(request.events, request.expected_version + 1):
        data, meta, at = codec.dumps(e.data), codec.dumps(e.metadata), chain.canonical_time(e.recorded_at)
        digest, leaf = chain.digest_and_leaf(stream, version, e.type, e.schema_version, at, data, meta)
        previous_hash = chain.link(previous_hash, digest)
        row = (sid, version, e.type, e.schema_version, data, meta, time_text(e.recorded_at), previous_hash, leaf)
        position = conn.execute(_INSERT_EVENT, row).lastrowid
        event = object.__new__(RecordedEvent)
        init_recorded(
            event, position=position, stream_id=request.stream_id, version=version, type=e.type,
            schema_version=e.schema_version, data=e.data, metadata=e.metadata, recorded_at=e.recorded_at,
            hash=previous_hash,
        )
        recorded.append(event)
    if request.state is not None:
        status.write_row(conn, request.state, recorded[0].position, recorded[-1].position)
    return recorded


class SQLiteLog:
    def __init__(self, db: Database):
        self.db = db
        self._appender = GroupCommitter(self._write_batch)
        self._listeners: list[Listener] = []

    async def close(self) -> None:
        """Let queued appends finish."""
        await self._appender.close()

    async def append(
        self, stream_id: UUID, expected_version: int, events: Sequence[NewEvent], state: dict[str, Any] | None = None
    ) -> list[RecordedEvent]:
        """Append `events` after `expected_version`, or raise VersionConflict and append nothing."""
        return await self._appender.submit(AppendRequest(stream_id, expected_version, events, state))

    async def append_all(self, requests: Sequence[AppendRequest]) -> list[list[RecordedEvent]]:
        """All of `requests` in one writer transaction, or none (AppendsRefused)."""
        if not requests:
            return []
        return await self._write_batch(requests, all_or_none=True)

    async def _write_batch(
        self, batch: Sequence[AppendRequest], lane: int = 0, all_or_none: bool = False
    ) -> list[Outcome]:
        outcomes = await self.db.writer.run(write_batch, batch, all_or_none)
        self.committed(batch, outcomes)
        return outcomes

    def committed(self, requests: Sequence[AppendRequest], outcomes: Sequence[Outcome]) -> None:
        """The writer committed these appends (a batch, or a claim's): tell the listeners."""
        written = rows_written(requests, outcomes)
        for callback in self._listeners:
            callback(written)

    async def listen(self, callback: Listener) -> None:
        """Call `callback(written)` after each local commit (SQLite serves one process)."""
        self._listeners.append(callback)

    async def read_stream(self, stream_id: UUID) -> list[RecordedEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = ? ORDER BY version"
        return [_recorded(r) for r in await self.db.fetch(sql, stream_id.hex)]

    async def created_traces(self, stream_ids: Sequence[UUID]) -> dict[UUID, dict[str, str]]:
        marks = ", ".join("?" * len(stream_ids))
        sql = f"SELECT stream_id, metadata FROM events WHERE version = 1 AND stream_id IN ({marks})"
        rows = await self.db.fetch(sql, *(s.hex for s in stream_ids))
        return {UUID(r["stream_id"]): codec.trace_context(r["metadata"]) for r in rows}

    async def read_all(self, *, after: int = 0, limit: int = 500) -> list[RecordedEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
        return [_recorded(r) for r in await self.db.fetch(sql, after, limit)]

    async def head(self) -> int:
        return (await self.db.fetch("SELECT coalesce(max(position), 0) AS head FROM events"))[0]["head"]

    async def raw_stream(self, stream_id: UUID) -> list[chain.RawEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = ? ORDER BY position"
        return [_raw(r) for r in await self.db.fetch(sql, stream_id.hex)]

    async def raw_all(self, *, after: int = 0, limit: int = 5000) -> list[chain.RawEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
        return [_raw(r) for r in await self.db.fetch(sql, after, limit)]

    async def leaf_rows(self, *, after: int = 0, limit: int = 5000) -> list[tuple[int, UUID, bytes | None]]:
        sql = "SELECT position, stream_id, leaf FROM events WHERE position > ? ORDER BY position LIMIT ?"
        return [(r[0], UUID(r[1]), r[2]) for r in await self.db.fetch(sql, after, limit)]

    async def import_events(self, events: list[chain.RawEvent]) -> None:
        """Write exported events as they were (positions and hashes kept) into this log."""
        rows = [(e.position, e.stream_id.hex, e.version, e.type, e.schema_version, e.data, e.metadata,
                 time_text(e.recorded_at), e.hash) for e in events]

        def write(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(_IMPORT_EVENT, rows)

        await self.db.writer.run(write)
