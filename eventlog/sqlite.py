"""SQLite backend: the embedded default.

SQLite allows one writer at a time: every write runs on one connection in one
thread, inside BEGIN IMMEDIATE, so positions are assigned and committed in the
same order (DESIGN invariant 3). Reads use a second connection (WAL mode lets them
run beside the writer); an in-memory database has only the one connection.
"""

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from domain import errors
from eventlog import chain, codec, shadow, tables
from eventlog.key_store import SQLiteKeyStore
from eventlog.projection_store_sqlite import SQLiteProjectionStore
from eventlog.appender import GroupCommitter, Outcome
from eventlog.store import (
    AppendRequest,
    AppendsRefused,
    ClaimPlan,
    ClaimQuery,
    JobFilter,
    Listener,
    NewEvent,
    QueueStats,
    RecordedEvent,
    StatusRow,
    candidate_scans,
    claim_allowance,
    in_claim_order,
    rows_written,
    trim_to_allowance,
)

T = TypeVar("T")

_EVENT_COLUMNS = "position, stream_id, version, type, schema_version, data, metadata, recorded_at, hash"
_INSERT_EVENT = (
    "INSERT INTO events (stream_id, version, type, schema_version, data, metadata, recorded_at, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_STATUS_COLUMNS = (
    "job_id", "tenant", "type", "status", "priority", "run_at", "expires_at", "lease_expires_at",
    "created_at", "updated_at", "finished_at", "version", "created_position", "last_position", "doc",
)
_UPSERT_STATUS = (
    f"INSERT INTO job_status ({', '.join(_STATUS_COLUMNS)}) VALUES ({', '.join('?' * len(_STATUS_COLUMNS))}) "
    "ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, priority = excluded.priority, "
    "run_at = excluded.run_at, expires_at = excluded.expires_at, lease_expires_at = excluded.lease_expires_at, "
    "updated_at = excluded.updated_at, finished_at = excluded.finished_at, version = excluded.version, "
    "last_position = excluded.last_position, "
    "doc = excluded.doc"
)


def sqlite_path(url: str) -> str:
    """The file path in sqlite:///path (or ':memory:')."""
    path = url.split("://", 1)[1] if "://" in url else url
    return path[1:] if path.startswith("/") else path


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")


def _recorded(row: tuple) -> RecordedEvent:
    return RecordedEvent(
        row[0], UUID(row[1]), row[2], row[3], row[4], codec.loads(row[5]), codec.loads(row[6]),
        datetime.fromisoformat(row[7]), row[8],
    )


def _raw(row: tuple) -> chain.RawEvent:
    return chain.RawEvent(row[0], UUID(row[1]), *row[2:7], datetime.fromisoformat(row[7]), row[8])


def _status_values(state: dict[str, Any], created: int, last: int) -> tuple:
    values = {**state, "created_position": created, "last_position": last}
    values["job_id"] = state["job_id"].hex
    for column in ("run_at", "expires_at", "lease_expires_at", "created_at", "updated_at", "finished_at"):
        values[column] = _time(values[column])
    return tuple(values[c] for c in _STATUS_COLUMNS)


class _Connection:
    """One sqlite3 connection, used from its own single thread."""

    def __init__(self, path: str):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobledger-sqlite")
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA busy_timeout = 10000")
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")  # an acknowledged event survives power loss

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, self.conn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.conn.close()


def _write_batch(conn: sqlite3.Connection, batch: Sequence[AppendRequest], all_or_none: bool = False) -> list[Outcome]:
    """The appends in one transaction, each accepted or refused on its own; `all_or_none`: none
    is written if any is refused (AppendsRefused)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcomes = [_write_one(conn, request) for request in batch]
        if all_or_none and (refused := [o for o in outcomes if isinstance(o, Exception)]):
            raise AppendsRefused(refused)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return outcomes


def _write_one(conn: sqlite3.Connection, request: AppendRequest) -> Outcome:
    sid = request.stream_id.hex
    last = conn.execute("SELECT version, hash FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT 1", (sid,))
    current, previous_hash = last.fetchone() or (0, "")
    if current != request.expected_version:
        return errors.VersionConflict(request.stream_id, request.expected_version, current)
    recorded = []
    for version, e in enumerate(request.events, request.expected_version + 1):
        data, meta = codec.dumps(e.data), codec.dumps(e.metadata)
        digest = chain.digest(request.stream_id, version, e.type, e.schema_version, e.recorded_at, data, meta)
        previous_hash = chain.link(previous_hash, digest)
        row = (sid, version, e.type, e.schema_version, data, meta, _time(e.recorded_at), previous_hash)
        position = conn.execute(_INSERT_EVENT, row).lastrowid
        recorded.append(
            RecordedEvent(
                position, request.stream_id, version, e.type, e.schema_version, e.data, e.metadata, e.recorded_at,
                previous_hash,
            )
        )
    if request.state is not None:
        # created_position is only written by the first insert; the upsert keeps it after that
        conn.execute(_UPSERT_STATUS, _status_values(request.state, recorded[0].position, recorded[-1].position))
    return recorded


def _in(column: str, values: Sequence[str], negate: bool = False) -> str:
    return f"{column} {'NOT ' if negate else ''}IN ({', '.join('?' * len(values))})"


_DUE_AT = tables.DUE_AT["sqlite"]  # as the queue indexes hold it, so that they are used
PRIORITIES_ONE_AT_A_TIME = 8  # as PostgreSQL's jobledger_claim_candidates (migration 0010)


def _candidates(conn: sqlite3.Connection, now: datetime, type_, leave_out, limit: int, tenant: str | None) -> list[tuple]:
    """Up to `limit` due jobs of `type_` (or of any type but `leave_out`) in claim order, from the
    highest priority down: the first PRIORITIES_ONE_AT_A_TIME priorities one at a time, each
    from its first due job to its last, skipping the jobs not due; below them, in one scan
    that steps over the jobs not due (with many priorities, a descent each would cost more)."""
    # named, so that SQLite reads them off a queue index (without statistics it might sort)
    if type_ is not None:
        index, which, of = "job_status_queue", "type = ?", [type_]
    else:
        index, which, of = "job_status_queue_any", _in("type", leave_out, negate=True), list(leave_out)
    queued = f"FROM job_status INDEXED BY {index} WHERE status = 'queued' AND {which}"
    columns = f"type, job_id, version, last_position, doc, priority, {_DUE_AT}, created_position"
    due = f"{_DUE_AT} <= ? AND expires_at > ?{'' if tenant is None else ' AND tenant = ?'}"
    below = f"SELECT priority {queued} AND priority < ? ORDER BY priority DESC LIMIT 1"
    at_priority = f"SELECT {columns} {queued} AND priority = ? AND {due} ORDER BY {_DUE_AT}, created_position LIMIT ?"
    all_below = (
        f"SELECT {columns} {queued} AND priority < ? AND {due} ORDER BY priority DESC, {_DUE_AT}, created_position LIMIT ?"
    )
    due_args = [_time(now), _time(now)] + ([] if tenant is None else [tenant])
    rows: list[tuple] = []
    priority = 2**31  # priorities are 32-bit: above the highest there is
    for _ in range(PRIORITIES_ONE_AT_A_TIME):
        found = conn.execute(below, (*of, priority)).fetchone()
        if found is None:
            return rows
        priority = found[0]
        rows += conn.execute(at_priority, (*of, priority, *due_args, limit - len(rows))).fetchall()
        if len(rows) == limit:
            return rows
    return rows + conn.execute(all_below, (*of, priority, *due_args, limit - len(rows))).fetchall()


def _claim(conn: sqlite3.Connection, query: ClaimQuery, plan: ClaimPlan) -> list[Outcome]:
    conn.execute("BEGIN IMMEDIATE")  # the single writer: claims and appends are serialised
    try:
        limited = list(query.max_running)
        running = dict(
            conn.execute(f"SELECT type, count(*) FROM job_status WHERE status = 'running' AND {_in('type', limited)} GROUP BY type", limited)
        ) if limited else {}
        allowance = claim_allowance(query, running)
        rows = []
        for type_, leave_out, limit in candidate_scans(query, allowance):
            rows += _candidates(conn, query.now, type_, leave_out, limit, query.tenant)
        rows = in_claim_order(rows, query.limit)
        requests = plan(trim_to_allowance([(r[0], StatusRow(UUID(r[1]), *r[2:5])) for r in rows], allowance))
        outcomes = [_write_one(conn, request) for request in requests]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return outcomes


_INSERT_STATUS = f"INSERT INTO %s ({', '.join(_STATUS_COLUMNS)}) VALUES ({', '.join('?' * len(_STATUS_COLUMNS))})"


def _fold_log(conn: sqlite3.Connection, fold, after: int, touched: set | None = None) -> int:
    sql = (
        "SELECT position, stream_id, type, schema_version, data, recorded_at FROM events "
        "WHERE position > ? ORDER BY position LIMIT ?"
    )
    while page := conn.execute(sql, (after, shadow.PAGE)).fetchall():
        rows = [(p, UUID(job), t, v, data, datetime.fromisoformat(at)) for p, job, t, v, data, at in page]
        after = shadow.fold_page(fold, rows, touched)
    return after


def _write_shadow(conn: sqlite3.Connection, rows: Iterable[dict[str, Any]]) -> None:
    values = [_status_values(r, r["created_position"], r["last_position"]) for r in rows]
    conn.executemany(_INSERT_STATUS % shadow.SHADOW, values)


def _swap(conn: sqlite3.Connection, fold, position: int) -> None:
    """Under the single writer: the rest of the log into the shadow, then swap it in."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        touched: set = set()
        _fold_log(conn, fold, position, touched)
        conn.executemany(f"DELETE FROM {shadow.SHADOW} WHERE job_id = ?", [(t.hex,) for t in touched])
        _write_shadow(conn, fold.rows(touched))
        conn.execute("DROP TABLE job_status")
        conn.execute(f"ALTER TABLE {shadow.SHADOW} RENAME TO job_status")
        for statement in shadow.create_indexes("sqlite", final_names=True, table_name="job_status"):
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _create_shadow(conn: sqlite3.Connection) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {shadow.SHADOW}")
    conn.execute(shadow.create_table("sqlite"))


def _load_shadow(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        _write_shadow(conn, rows)


class SQLiteEventStore(SQLiteProjectionStore, SQLiteKeyStore):
    backend = "sqlite"

    def __init__(self, path: str):
        self.path = path
        self._writer = _Connection(path)
        self._reader = self._writer if path == ":memory:" else _Connection(path)
        self._appender = GroupCommitter(self._write_batch)
        self._listeners: list[Listener] = []

    @property
    def raw_connection(self) -> sqlite3.Connection:
        """The writer connection (migrations run on it, so ':memory:' gets its schema)."""
        return self._writer.conn

    async def run_on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._writer.run(fn, *args)

    async def close(self) -> None:
        await self._appender.close()
        self._writer.close()
        if self._reader is not self._writer:
            self._reader.close()

    async def append(
        self, stream_id: UUID, expected_version: int, events: Sequence[NewEvent], state: dict[str, Any] | None = None
    ) -> list[RecordedEvent]:
        """Append `events` after `expected_version`, or raise VersionConflict and append nothing."""
        return await self._appender.submit(AppendRequest(stream_id, expected_version, events, state))

    async def append_all(self, requests: Sequence[AppendRequest]) -> list[list[RecordedEvent]]:
        """All of `requests` in one writer transaction, or none (AppendsRefused)."""
        return await self._write_batch(requests, all_or_none=True)

    async def _write_batch(
        self, batch: Sequence[AppendRequest], lane: int = 0, all_or_none: bool = False
    ) -> list[Outcome]:
        outcomes = await self._writer.run(_write_batch, batch, all_or_none)
        self._committed(batch, outcomes)
        return outcomes

    def _committed(self, requests: Sequence[AppendRequest], outcomes: Sequence[Outcome]) -> None:
        written = rows_written(requests, outcomes)
        for callback in self._listeners:
            callback(written)

    async def listen(self, callback: Listener) -> None:
        """Call `callback(written)` after each local commit (SQLite serves one process)."""
        self._listeners.append(callback)

    async def _fetch(self, sql: str, *args: Any) -> list[tuple]:
        return await self._reader.run(lambda conn: conn.execute(sql, args).fetchall())

    async def read_stream(self, stream_id: UUID) -> list[RecordedEvent]:
        rows = await self._fetch(f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = ? ORDER BY version", stream_id.hex)
        return [_recorded(r) for r in rows]

    async def read_all(self, *, after: int = 0, limit: int = 500) -> list[RecordedEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
        return [_recorded(r) for r in await self._fetch(sql, after, limit)]

    async def head(self) -> int:
        return (await self._fetch("SELECT coalesce(max(position), 0) FROM events"))[0][0]

    async def raw_stream(self, stream_id: UUID) -> list[chain.RawEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = ? ORDER BY position"
        return [_raw(r) for r in await self._fetch(sql, stream_id.hex)]

    async def raw_all(self, *, after: int = 0, limit: int = 5000) -> list[chain.RawEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
        return [_raw(r) for r in await self._fetch(sql, after, limit)]

    async def import_events(self, events: list[chain.RawEvent]) -> None:
        """Write exported events as they were (positions and hashes kept) into this log."""
        rows = [(e.position, e.stream_id.hex, e.version, e.type, e.schema_version, e.data, e.metadata,
                 _time(e.recorded_at), e.hash) for e in events]
        sql = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

        def write(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, rows)

        await self._writer.run(write)

    async def status_versions(self) -> dict[UUID, int]:
        return {UUID(job_id): version for job_id, version in await self._fetch("SELECT job_id, version FROM job_status")}

    async def get_status(self, job_id: UUID) -> StatusRow | None:
        sql = "SELECT job_id, version, last_position, doc, tenant, type FROM job_status WHERE job_id = ?"
        rows = await self._fetch(sql, job_id.hex)
        return StatusRow(UUID(rows[0][0]), *rows[0][1:]) if rows else None

    async def list_status(self, query: JobFilter) -> list[tuple[int, int, str]]:
        clauses, args = [], []
        for column, value in (
            ("status", query.status), ("type", query.type), ("tenant", query.tenant), ("created_position <", query.before)
        ):
            if value is not None:
                clauses.append(f"{column} ?" if column.endswith("<") else f"{column} = ?")
                args.append(value)
        if query.types is not None:
            clauses.append(_in("type", query.types))
            args += query.types
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT created_position, last_position, doc FROM job_status {where} ORDER BY created_position DESC LIMIT ?"
        return await self._fetch(sql, *args, query.limit)

    async def count_by_status(self) -> dict[str, int]:
        return dict(await self._fetch("SELECT status, count(*) FROM job_status GROUP BY status"))

    async def count_by_type_and_status(self) -> dict[tuple[str, str], int]:
        rows = await self._fetch("SELECT type, status, count(*) FROM job_status GROUP BY type, status")
        return {(t, s): n for t, s, n in rows}

    async def due_for_expiry(self, now: datetime, limit: int) -> list[UUID]:
        sql = (
            "SELECT job_id FROM job_status WHERE status IN ('queued', 'running') AND expires_at <= ? "
            "ORDER BY expires_at LIMIT ?"
        )
        return [UUID(r[0]) for r in await self._fetch(sql, _time(now), limit)]

    async def claim(self, query: ClaimQuery, plan: ClaimPlan) -> list[list[RecordedEvent]]:
        """Claim due queued jobs inside one writer transaction: no two claims get the same job."""
        planned: list[AppendRequest] = []

        def kept(rows: list[StatusRow]) -> list[AppendRequest]:
            planned.extend(plan(rows))
            return planned

        outcomes = await self._writer.run(_claim, query, kept)
        if outcomes:
            self._committed(planned, outcomes)
        return [o for o in outcomes if not isinstance(o, Exception)]

    async def due_for_lease_expiry(self, now: datetime, limit: int) -> list[UUID]:
        sql = (
            "SELECT job_id FROM job_status WHERE status = 'running' AND lease_expires_at <= ? "
            "ORDER BY lease_expires_at LIMIT ?"
        )
        return [UUID(r[0]) for r in await self._fetch(sql, _time(now), limit)]

    async def queue_stats(self, now: datetime) -> list[QueueStats]:
        sql = (
            "SELECT type, count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'running'), "
            "min(max(coalesce(run_at, updated_at), updated_at)) "
            "FILTER (WHERE status = 'queued' AND (run_at IS NULL OR run_at <= ?)) "
            "FROM job_status WHERE status IN ('queued', 'running') GROUP BY type ORDER BY type"
        )
        rows = await self._fetch(sql, _time(now))
        return [QueueStats(t, q, r, datetime.fromisoformat(o) if o else None) for t, q, r, o in rows]

    async def put_type(self, name: str, config: dict[str, Any], now: datetime) -> None:
        sql = (
            "INSERT INTO job_types (name, config, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at"
        )
        await self._writer.run(lambda conn: conn.execute(sql, (name, codec.dumps(config), _time(now))))

    async def get_types(self) -> dict[str, dict[str, Any]]:
        return {name: codec.loads(config) for name, config in await self._fetch("SELECT name, config FROM job_types")}

    async def _prune(self, sql: str, finished_before: datetime) -> int:
        return await self._writer.run(lambda conn: conn.execute(sql, (_time(finished_before),)).rowcount)

    async def prune_status(self, finished_before: datetime) -> int:
        """Remove jobs that finished before `finished_before` from the status table."""
        sql = (
            "DELETE FROM job_status WHERE status IN ('completed', 'failed', 'cancelled', 'expired') "
            "AND finished_at < ?"
        )
        return await self._prune(sql, finished_before)

    async def rebuild_status(self, fold, progress=None) -> int:
        """Replay the log into a shadow table (read on the reader, written in small
        transactions between appends), then catch up and swap it in under the writer."""
        with codec.no_gc():  # the fold builds millions of acyclic objects: nothing to collect
            await self._writer.run(_create_shadow)
            position = await self._reader.run(_fold_log, fold, 0)
            if progress is not None:
                progress(position)
            rows = list(fold.rows())
            for start in range(0, len(rows), 2000):
                await self._writer.run(_load_shadow, rows[start : start + 2000])
            await self._writer.run(_swap, fold, position)
        return len(fold.drafts)
