"""PostgreSQL backend (asyncpg).

Appends go through the `jobledger_append` function (migrations 0008, 0009): one round trip
and one commit per group-committed batch, several batches in flight at once. Their
commits overlap, so positions do not become visible in order; readers of the log see
only settled events (`_SETTLED`), which keeps `position > N` gapless.
"""

import asyncio
import contextlib
import logging
import operator
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from domain import errors
from eventlog import chain, codec, pg_outage, shadow
from eventlog.key_store import PostgresKeyStore
from eventlog.projection_store_pg import PostgresProjectionStore
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
    Written,
    candidate_scans,
    claim_allowance,
    in_claim_order,
    rows_written,
    trim_to_allowance,
)

APPEND_LOCK = 0x6A6F626C  # appends hold it shared; a rebuild's swap or an import, exclusive
CLAIM_LOCK = 0x6A6F626F  # serialises claims: per-type running counts are exact, no job is claimed twice (0010's
# jobledger_claim_candidates takes it by its number, 1785684591)
APPEND_LANES = 4  # batches in flight at once: their commits overlap and share WAL flushes
CHANNEL = "jobledger_events"  # notified after commits, once per wake-up (see _notify_forever)
# A NOTIFY's payload: the (tenant, job type, status) of the status rows committed since the one before, as
# JSON; empty where not known, or over this many characters (listeners then take it as "any job").
NOTIFY_PAYLOAD_LENGTH = 1000
NOTIFY_GATHER = 0.002  # seconds a NOTIFY waits for more commits to wake other instances about
PRUNE_CHUNK = 1000  # status rows retention deletes per transaction
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
_SETTLED = (
    "(tx < (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"
    " OR tx < (SELECT least(pg_snapshot_xmax(pg_current_snapshot())::text::bigint, min(x::text::bigint))"
    " FROM pg_snapshot_xip(pg_current_snapshot()) AS x"
    f" WHERE x::text::bigint % 4294967296 NOT IN ({_OTHER_DATABASES})))"
)
log = logging.getLogger("jobledger.postgres")

_FOLD_SLICE = 1000  # events folded between two turns of the event loop, which reads the next page
_FOLD_PAGE = (  # only what the fold needs: metadata and hashes are not parsed
    "SELECT position, stream_id, type, schema_version, data::text, recorded_at FROM events "
    "WHERE position > $1 AND {} ORDER BY position LIMIT $2"
)
_EVENT_COLUMNS = "position, stream_id, version, type, schema_version, data::text, metadata::text, recorded_at, hash"
_APPEND = (
    "SELECT current_versions, first_position, hashes FROM jobledger_append("
    + ", ".join(f"${i}" for i in range(1, 24))
    + ")"
)
HEADS = 16_384  # jobs whose last (version, hash) a store keeps, to chain their next events itself
# A claim's candidates, all its scans in one call (migration 0010): under the claim lock, each
# priority's due jobs off a queue index in claim order, from the highest priority down.
_CANDIDATES = "SELECT * FROM jobledger_claim_candidates($1, $2, $3, $4, $5)"
_CLAIM_LOCK = "SELECT pg_advisory_xact_lock($1)"
_RUNNING = "SELECT type, count(*) FROM job_status WHERE status = 'running' AND type = ANY($1) GROUP BY type"
_QUEUE_STATS = (
    "SELECT type, count(*) FILTER (WHERE status = 'queued'), count(*) FILTER (WHERE status = 'running'), "
    "min(greatest(run_at, updated_at)) FILTER (WHERE status = 'queued' AND (run_at IS NULL OR run_at <= $1)) "
    "FROM job_status WHERE status IN ('queued', 'running') GROUP BY type ORDER BY type"
)


class _PooledConnection(asyncpg.Connection):
    """Pool connections hold no session state (only transaction-level locks, no LISTEN, no SET),
    so the reset query asyncpg sends on every release would be a wasted round trip."""

    def get_reset_query(self) -> str:
        return ""


def asyncpg_dsn(url: str) -> str:
    """asyncpg wants postgresql://; accept SQLAlchemy's postgresql+asyncpg:// too."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _recorded(row: asyncpg.Record) -> RecordedEvent:
    return RecordedEvent(
        row[0], row[1], row[2], row[3], row[4], codec.loads(row[5]), codec.loads(row[6]), row[7], row[8]
    )


class PostgresEventStore(PostgresProjectionStore, PostgresKeyStore):
    backend = "postgresql"

    def __init__(self, pool: asyncpg.Pool, dsn: str):
        self._pool = pool
        self._dsn = dsn
        self._appender = GroupCommitter(self._write_batch, lanes=APPEND_LANES)
        self._listeners: list[Listener] = []
        self._listen_task: asyncio.Task | None = None
        self._notify_wanted = asyncio.Event()
        self._notify_written: set[tuple[str, str, str]] | None = set()  # status rows committed since the last NOTIFY
        self._notify_task: asyncio.Task | None = None
        self._notify_conn: asyncpg.Connection | None = None
        self._commit_seen = asyncio.Event()  # set at every local commit: a held-back read tries again
        # the appender's own connections, one per lane: no pool reset query in the commit path
        self._append_conns: list[asyncpg.Connection | None] = [None] * APPEND_LANES
        self._heads = Heads()

    @classmethod
    async def open(cls, url: str, *, min_size: int = 2, max_size: int = 10) -> "PostgresEventStore":
        dsn = asyncpg_dsn(url)
        with pg_outage.translated():
            pool = await asyncpg.create_pool(
                dsn, min_size=min_size, max_size=max_size, connection_class=_PooledConnection, connect=pg_outage.connect
            )
        return cls(pool, dsn)

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    @contextlib.asynccontextmanager
    async def _connection(self):
        """A pooled connection; losing the database on the way is StoreUnavailable."""
        with pg_outage.translated():
            # not acquire(timeout=): on 3.11 that wraps every acquire and release in a task of its own
            async with asyncio.timeout(pg_outage.ACQUIRE_TIMEOUT):
                conn = await self._pool.acquire()
            try:
                yield conn
            finally:
                await self._pool.release(conn)

    async def close(self) -> None:
        await self._appender.close()
        for task in (self._listen_task, self._notify_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for conn in self._append_conns:
            if conn is not None:
                await conn.close()
        if self._notify_conn is not None:
            self._notify_conn.terminate()  # holds nothing; its last NOTIFY may have been cancelled
        await self._pool.close()

    async def listen(self, callback: Listener) -> None:
        """Call `callback(written)` whenever the log may have moved, whichever instance appended."""
        self._listeners.append(callback)
        if self._listen_task is None:
            self._listen_task = asyncio.create_task(self._listen_forever(), name="jobledger-listen")

    def _moved(self, written: Written | None) -> None:
        for callback in self._listeners:
            callback(written)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._moved(_written_of(payload))

    def _committed(self, written: Written | None) -> None:
        """Appends that wrote `written` committed: wake this instance's followers now, other
        instances' by NOTIFY."""
        self._moved(written)
        self._commit_seen.set()
        self._commit_seen = asyncio.Event()
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
                if self._notify_conn is None or self._notify_conn.is_closed():
                    self._notify_conn = await pg_outage.connect(self._dsn)
                    # nothing rides on it but a wake-up (followers also poll): no WAL flush to wait for
                    await self._notify_conn.execute("SET synchronous_commit = off")
                await self._notify_conn.execute(
                    "SELECT pg_notify($1, $2)", CHANNEL, payload if len(payload) <= NOTIFY_PAYLOAD_LENGTH else ""
                )
            except Exception as exc:  # noqa: BLE001 - other instances' followers poll meanwhile
                log.warning("NOTIFY failed: %s", exc)
                if self._notify_conn is not None:
                    self._notify_conn.terminate()
                self._notify_conn = None
                await asyncio.sleep(0.5)

    async def _listen_forever(self) -> None:
        while True:
            conn = None
            try:
                conn = await pg_outage.connect(self._dsn)
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

    async def append(
        self, stream_id: UUID, expected_version: int, events: Sequence[NewEvent], state: dict[str, Any] | None = None
    ) -> list[RecordedEvent]:
        """Append `events` after `expected_version`, or raise VersionConflict and append nothing."""
        return await self._appender.submit(AppendRequest(stream_id, expected_version, events, state))

    async def append_all(self, requests: Sequence[AppendRequest]) -> list[list[RecordedEvent]]:
        """All of `requests` in one transaction of their own, or none (AppendsRefused)."""
        async with self._connection() as conn, conn.transaction():
            row = await conn.fetchrow(_APPEND, *_append_args(list(requests), self._heads))
            outcomes = _outcomes(requests, row)
            refused = [o for o in outcomes if isinstance(o, Exception)]
            if refused:
                raise AppendsRefused(refused)  # and the transaction rolls back what the others wrote
        return self._after_commit(requests, outcomes)

    async def _write_batch(self, batch: list[AppendRequest], lane: int = 0) -> list[Outcome]:
        conn = self._append_conns[lane]
        try:
            with pg_outage.translated():
                if conn is None or conn.is_closed():
                    conn = self._append_conns[lane] = await pg_outage.connect(self._dsn)
                row = await conn.fetchrow(_APPEND, *_append_args(batch, self._heads))
        except errors.StoreUnavailable:
            # The outcome is unknown if the connection died after the commit was sent: the
            # callers get 503, never a guess; the next batch opens a new connection.
            if conn is not None:
                conn.terminate()
            self._append_conns[lane] = None
            raise
        return self._after_commit(batch, _outcomes(batch, row))

    async def claim(self, query: ClaimQuery, plan: ClaimPlan) -> list[list[RecordedEvent]]:
        """Claim due queued jobs under the claim lock: claims are serialised, so no two get
        the same job and per-type running counts are exact. A candidate changed by an append
        meanwhile fails its version check (the append locks the job) and is left out."""
        async with self._connection() as conn, conn.transaction():
            running = {}
            if query.max_running:  # counted under the lock (the candidates' call takes it again)
                await conn.execute(_CLAIM_LOCK, CLAIM_LOCK)
                running = dict(await conn.fetch(_RUNNING, list(query.max_running)))
            allowance = claim_allowance(query, running)
            scans = candidate_scans(query, allowance)
            leave_out = next((left for type_, left, _ in scans if type_ is None), [])
            rows = await conn.fetch(
                _CANDIDATES, query.now, [type_ for type_, _, _ in scans], [limit for _, _, limit in scans], leave_out,
                query.tenant,
            )
            rows = in_claim_order(rows, query.limit)
            requests = plan(trim_to_allowance([(r[0], StatusRow(*r[1:5])) for r in rows], allowance))
            if not requests:
                return []
            row = await conn.fetchrow(_APPEND, *_append_args(requests, self._heads))
        outcomes = self._after_commit(requests, _outcomes(requests, row))
        return [o for o in outcomes if not isinstance(o, Exception)]

    def _after_commit(self, requests: Sequence[AppendRequest], outcomes: list[Outcome]) -> list[Outcome]:
        """Appends committed: followers are woken, and the jobs' new heads remembered."""
        self._committed(rows_written(requests, outcomes))
        self._heads.remember(outcomes)
        return outcomes

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._connection() as conn:
            return await conn.fetch(sql, *args)

    async def read_stream(self, stream_id: UUID) -> list[RecordedEvent]:
        rows = await self._fetch(f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version", stream_id)
        return [_recorded(r) for r in rows]

    async def _settled_after(self, after: int, limit: int) -> list[asyncpg.Record]:
        """Settled events after `after`, in position order: a caller reads its own appends,
        held back for a moment at most (see _await_settled). A read again takes only what
        was held back, from the last settled event on."""
        sql = f"SELECT {_EVENT_COLUMNS}, {_SETTLED} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        rows = await self._fetch(sql, after, limit)
        settled = rows[: _settled_prefix(rows)]

        def reached() -> int:
            return settled[-1][0] if settled else after

        async def again() -> int:
            rows = await self._fetch(sql, reached(), limit - len(settled))
            settled.extend(rows[: _settled_prefix(rows)])
            return reached()

        await self._await_settled(reached(), rows[-1][0] if rows else after, again)
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
                    await self._commit_seen.wait()
            delay = min(delay * 2, 0.02)
            reached = await again()

    async def read_all(self, *, after: int = 0, limit: int = 500) -> list[RecordedEvent]:
        return [_recorded(r) for r in await self._settled_after(after, limit)]

    async def head(self) -> int:
        """The last settled position (a follower that starts there misses nothing after it),
        waiting as reads do for committed events held back."""
        sql = (
            f"SELECT (SELECT coalesce(max(position), 0) FROM events WHERE {_SETTLED}),"
            " (SELECT coalesce(max(position), 0) FROM events)"
        )
        settled, committed = (await self._fetch(sql))[0]

        async def again() -> int:
            nonlocal settled
            settled = (await self._fetch(sql))[0][0]
            return settled

        await self._await_settled(settled, committed, again)
        return settled

    async def raw_stream(self, stream_id: UUID) -> list[chain.RawEvent]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY position"
        return [chain.RawEvent(*r) for r in await self._fetch(sql, stream_id)]

    async def raw_all(self, *, after: int = 0, limit: int = 5000) -> list[chain.RawEvent]:
        return [chain.RawEvent(*r[:-1]) for r in await self._settled_after(after, limit)]

    async def import_events(self, events: list[chain.RawEvent]) -> None:
        """Write exported events as they were (positions and hashes kept) into this log."""
        columns = ["position", "stream_id", "version", "type", "schema_version", "data", "metadata", "recorded_at", "hash"]
        records = [(e.position, e.stream_id, e.version, e.type, e.schema_version, e.data, e.metadata, e.recorded_at, e.hash)
                   for e in events]
        async with self._connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
            await conn.copy_records_to_table("events", records=records, columns=columns)
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('events', 'position'), (SELECT max(position) FROM events))"
            )

    async def status_versions(self) -> dict[UUID, int]:
        return dict(await self._fetch("SELECT job_id, version FROM job_status"))

    async def get_status(self, job_id: UUID) -> StatusRow | None:
        sql = "SELECT job_id, version, last_position, doc::text, tenant, type FROM job_status WHERE job_id = $1"
        rows = await self._fetch(sql, job_id)
        return StatusRow(*rows[0]) if rows else None

    async def list_status(self, query: JobFilter) -> list[tuple[int, int, str]]:
        clauses, args = [], []
        for column, value in (("status", query.status), ("type", query.type), ("tenant", query.tenant)):
            if value is not None:
                args.append(value)
                clauses.append(f"{column} = ${len(args)}")
        if query.types is not None:
            args.append(list(query.types))
            clauses.append(f"type = ANY(${len(args)})")
        if query.before is not None:
            args.append(query.before)
            clauses.append(f"created_position < ${len(args)}")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        args.append(query.limit)
        sql = f"SELECT created_position, last_position, doc::text FROM job_status {where} ORDER BY created_position DESC LIMIT ${len(args)}"
        return [tuple(r) for r in await self._fetch(sql, *args)]

    async def count_by_status(self) -> dict[str, int]:
        rows = await self._fetch("SELECT status, count(*) FROM job_status GROUP BY status")
        return {r[0]: r[1] for r in rows}

    async def count_by_type_and_status(self) -> dict[tuple[str, str], int]:
        rows = await self._fetch("SELECT type, status, count(*) FROM job_status GROUP BY type, status")
        return {(r[0], r[1]): r[2] for r in rows}

    async def due_for_expiry(self, now: datetime, limit: int) -> list[UUID]:
        sql = (
            "SELECT job_id FROM job_status WHERE status IN ('queued', 'running') AND expires_at <= $1 "
            "ORDER BY expires_at LIMIT $2"
        )
        return [r[0] for r in await self._fetch(sql, now, limit)]

    async def due_for_lease_expiry(self, now: datetime, limit: int) -> list[UUID]:
        sql = (
            "SELECT job_id FROM job_status WHERE status = 'running' AND lease_expires_at <= $1 "
            "ORDER BY lease_expires_at LIMIT $2"
        )
        return [r[0] for r in await self._fetch(sql, now, limit)]

    async def queue_stats(self, now: datetime) -> list[QueueStats]:
        return [QueueStats(*r) for r in await self._fetch(_QUEUE_STATS, now)]

    async def put_type(self, name: str, config: dict[str, Any], now: datetime) -> None:
        sql = (
            "INSERT INTO job_types (name, config, updated_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, updated_at = EXCLUDED.updated_at"
        )
        await self._fetch(sql, name, codec.dumps(config), now)

    async def get_types(self) -> dict[str, dict[str, Any]]:
        return {r[0]: codec.loads(r[1]) for r in await self._fetch("SELECT name, config::text FROM job_types")}

    async def prune_status(self, finished_before: datetime) -> int:
        """Remove jobs that finished before `finished_before` from the status table, a
        thousand at a time: one long transaction would hold back every follower of the log."""
        sql = (
            "DELETE FROM job_status WHERE job_id IN (SELECT job_id FROM job_status WHERE status IN "
            f"('completed', 'failed', 'cancelled', 'expired') AND finished_at < $1 LIMIT {PRUNE_CHUNK})"
        )
        pruned = 0
        while True:
            async with self._connection() as conn:
                deleted = int((await conn.execute(sql, finished_before)).split()[-1])
            pruned += deleted
            if deleted < PRUNE_CHUNK:
                return pruned

    async def rebuild_status(self, fold, progress=None) -> int:
        """Replay the log into a shadow table while appends go on, then catch up under the
        append lock and swap it in, in one transaction. Reads never stop; appends wait only
        for the catch-up and the swap."""
        async with self._connection() as conn:
            with codec.no_gc():  # the fold builds millions of acyclic objects: nothing to collect
                position = await self._build_shadow(conn, fold, progress)
                await self._swap(conn, fold, position, progress)
        return len(fold.drafts)

    async def _build_shadow(self, conn, fold, progress) -> int:
        """The shadow table, written and indexed from the log up to the position returned."""
        await conn.execute(f"DROP TABLE IF EXISTS {shadow.SHADOW}")
        await conn.execute(shadow.create_table("postgresql") + " WITH (fillfactor = 70)")
        position = await self._fold_log(conn, fold, _FOLD_PAGE.format(_SETTLED), 0, progress)
        await self._write_shadow(conn, fold.rows())
        for statement in shadow.create_indexes("postgresql"):
            await conn.execute(statement)
        return position

    async def _swap(self, conn, fold, position: int, progress) -> None:
        """Under the append lock: the rest of the log into the shadow, then the shadow in place of job_status."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
            touched = set()
            # no append is running now: every committed event is final, settled or not
            await self._fold_log(conn, fold, _FOLD_PAGE.format("true"), position, progress, touched)
            await conn.execute(f"DELETE FROM {shadow.SHADOW} WHERE job_id = ANY($1)", list(touched))
            await self._write_shadow(conn, fold.rows(touched))
            await conn.execute("ALTER TABLE job_status RENAME TO job_status_replaced")
            await conn.execute(f"ALTER TABLE {shadow.SHADOW} RENAME TO job_status")
            await conn.execute("DROP TABLE job_status_replaced")
            await conn.execute(f"ALTER TABLE job_status RENAME CONSTRAINT {shadow.SHADOW}_pkey TO job_status_pkey")
            for name in shadow.index_names():
                await conn.execute(f"ALTER INDEX {name}{shadow.SUFFIX} RENAME TO {name}")

    @staticmethod
    async def _fold_log(conn, fold, sql: str, after: int, progress=None, touched: set | None = None) -> int:
        """Fold the log after `after` a page at a time; each page is read while the one before
        is folded (pages of settled events, read apart, miss nothing)."""
        page = await conn.fetch(sql, after, shadow.PAGE)
        while page:
            reading = asyncio.ensure_future(conn.fetch(sql, page[-1][0], shadow.PAGE))
            await asyncio.sleep(0)  # the query goes out before the fold holds the event loop
            try:
                for start in range(0, len(page), _FOLD_SLICE):
                    after = shadow.fold_page(fold, page[start : start + _FOLD_SLICE], touched)
                    await asyncio.sleep(0)  # the next page keeps arriving (PostgreSQL keeps sending) meanwhile
            except BaseException:
                reading.cancel()
                raise
            if progress is not None:
                progress(len(page))
            page = await reading
        return after

    @staticmethod
    async def _write_shadow(conn, rows: Iterable[dict[str, Any]]) -> None:
        # a generator: the rows are made while COPY sends the ones before
        records = map(_status_record, rows)
        await conn.copy_records_to_table(shadow.SHADOW, records=records, columns=_STATUS_COLUMNS)


def _written_of(payload: str) -> Written | None:
    """What a NOTIFY's payload says was written; None where it does not say (empty, or not ours)."""
    try:
        rows = orjson.loads(payload) if payload else None
        return frozenset((tenant, type_, status) for tenant, type_, status in rows) if isinstance(rows, list) else None
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return None


def _settled_prefix(rows: list[asyncpg.Record]) -> int:
    """How many rows, from the first, are settled (each row's last column says)."""
    return next((i for i, row in enumerate(rows) if not row[-1]), len(rows))


def _outcomes(batch: list[AppendRequest], row: asyncpg.Record) -> list[Outcome]:
    """Each append's recorded events, or its VersionConflict, from jobledger_append's row: the
    accepted events have the positions from `first_position` on, in the order they were sent."""
    current_versions, position, hashes = row
    outcomes: list[Outcome] = []
    end = 0
    for request, current in zip(batch, current_versions, strict=True):
        start, end = end, end + len(request.events)
        if current != request.expected_version or start == end:
            outcomes.append(errors.VersionConflict(request.stream_id, request.expected_version, current))
            continue
        outcomes.append([
            RecordedEvent(
                position + v - 1, request.stream_id, request.expected_version + v, e.type, e.schema_version,
                e.data, e.metadata, e.recorded_at, hashes[k],
            )
            for v, (k, e) in enumerate(zip(range(start, end), request.events), 1)
        ])
        position += end - start
    return outcomes


class Heads:
    """The last (version, hash) of the jobs this store wrote most recently: the next append to
    one of them at that version chains its events here, not in the database. An event never
    changes once written, so a remembered head is either the job's head or an older version,
    which the append's version check refuses anyway."""

    def __init__(self, size: int = HEADS) -> None:
        self.size = size
        self._heads: dict[UUID, tuple[int, str]] = {}

    def previous_hash(self, request: AppendRequest) -> str | None:
        """The hash the request's first event chains on, if known."""
        if request.expected_version == 0:
            return ""
        head = self._heads.get(request.stream_id)
        return head[1] if head is not None and head[0] == request.expected_version else None

    def remember(self, outcomes: list[Outcome]) -> None:
        heads = self._heads
        for outcome in outcomes:
            if isinstance(outcome, list) and outcome:
                last = outcome[-1]
                heads.pop(last.stream_id, None)  # to the young end
                heads[last.stream_id] = (last.version, last.hash)
        while len(heads) > self.size:
            del heads[next(iter(heads))]


# The status row's columns jobledger_append takes as arrays of their own, after the events' arrays
# (its version and positions it works out itself; the document comes last, as JSON text).
_STATE_COLUMNS = (
    "tenant", "type", "status", "priority", "run_at", "expires_at", "lease_expires_at", "created_at", "updated_at",
    "finished_at",
)


def _append_args(batch: list[AppendRequest], heads: Heads | None = None) -> tuple:
    index, versions, types, schemas, data, meta, at, digests, hashes = [], [], [], [], [], [], [], [], []
    texts: dict[int, str] = {}  # an append's events mostly share one metadata dict and one time: each made once
    chained = True  # every hash worked out here: the function needs no digests
    for i, request in enumerate(batch, 1):
        stream = str(request.stream_id)
        previous = heads.previous_hash(request) if heads is not None else None
        chained = chained and previous is not None
        for version, e in enumerate(request.events, request.expected_version + 1):
            text = codec.dumps(e.data)
            meta_text = texts.get(id(e.metadata))
            if meta_text is None:
                meta_text = texts[id(e.metadata)] = codec.dumps(e.metadata)
            at_text = texts.get(id(e.recorded_at))
            if at_text is None:
                at_text = texts[id(e.recorded_at)] = chain.canonical_time(e.recorded_at)
            digest = chain.digest_text(stream, version, e.type, e.schema_version, at_text, text, meta_text)
            if previous is not None:
                previous = chain.link(previous, digest)
            index.append(i)
            versions.append(version)
            types.append(e.type)
            schemas.append(e.schema_version)
            data.append(text)
            meta.append(meta_text)
            at.append(e.recorded_at)
            digests.append(digest)
            hashes.append(previous)
    states = [request.state for request in batch]
    if all(state is None for state in states):  # a log-only batch: no status rows to write
        columns, docs = [None] * len(_STATE_COLUMNS), None
    else:
        columns = [[None if state is None else state[name] for state in states] for name in _STATE_COLUMNS]
        docs = [None if state is None else state["doc"] for state in states]
    return (
        [r.stream_id for r in batch],
        [r.expected_version for r in batch],
        [len(r.events) for r in batch],
        index,
        versions,
        types,
        schemas,
        data,
        meta,
        at,
        None if chained else digests,
        hashes,
        *columns,
        docs,
    )


_STATUS_COLUMNS = [
    "job_id", "tenant", "type", "status", "priority", "run_at", "expires_at", "lease_expires_at",
    "created_at", "updated_at", "finished_at", "version", "created_position", "last_position", "doc",
]


_status_record = operator.itemgetter(*_STATUS_COLUMNS)  # a row as COPY takes it (its doc is JSON text already)
