"""The job status read model on PostgreSQL: reads, retention, and the rebuild.

Appends write the status rows (jobledger_append, appends.py); a rebuild folds the log into a
shadow table while appends go on and swaps it in under the append lock.
"""

import asyncio
import operator
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from jobledger.eventlog import codec, counts, metadata, shadow
from jobledger.eventlog.postgres.appends import APPEND_LOCK
from jobledger.eventlog.postgres.connection import Database
from jobledger.eventlog.postgres.log import SETTLED
from jobledger.eventlog.records import JobFilter, StatusRow

PRUNE_CHUNK = 1000  # status rows retention deletes per transaction
_FOLD_SLICE = 1000  # events folded between two turns of the event loop, which reads the next page
_FOLD_PAGE = (  # only what the fold needs: metadata and hashes are not parsed
    f"SELECT {shadow.fold_select('data::text AS data')} FROM events "
    "WHERE position > $1 AND {} ORDER BY position LIMIT $2"
)
_STATUS_COLUMNS = [
    "job_id", "tenant", "type", "status", "priority", "run_at", "expires_at", "lease_expires_at",
    "created_at", "updated_at", "finished_at", "version", "created_position", "last_position", "doc",
]
# A job's user is read from its document: a user-scoped list filters the rows its tenant's list
# reads (no index of its own, as tenants have none: see README, Sign-in with JWTs).
USER = "(s.doc ->> 'user')"
_status_record = operator.itemgetter(*_STATUS_COLUMNS)  # a row as COPY takes it (its doc is JSON text already)


class PostgresStatus:
    def __init__(self, db: Database):
        self.db = db

    async def status_versions(self) -> dict[UUID, int]:
        return {r["job_id"]: r["version"] for r in await self.db.fetch("SELECT job_id, version FROM job_status")}

    async def status_rows(self, after: UUID | None = None, limit: int = 5000) -> list[dict[str, Any]]:
        columns = ", ".join("doc::text AS doc" if c == "doc" else c for c in _STATUS_COLUMNS)
        sql = f"SELECT {columns} FROM job_status WHERE $1::uuid IS NULL OR job_id > $1 ORDER BY job_id LIMIT $2"
        return [dict(r) for r in await self.db.fetch(sql, after, limit)]

    async def get_status(self, job_id: UUID) -> StatusRow | None:
        sql = (
            f"SELECT job_id, version, last_position, doc::text AS doc, tenant, type, {USER} AS user "
            "FROM job_status s WHERE job_id = $1"
        )
        rows = await self.db.fetch(sql, job_id)
        if not rows:
            return None
        r = rows[0]
        return StatusRow(
            job_id=r["job_id"], version=r["version"], last_position=r["last_position"], doc=r["doc"],
            tenant=r["tenant"], type=r["type"], user=r["user"],
        )

    async def list_status(self, query: JobFilter) -> list[tuple[int, int, str]]:
        sql, args = list_sql(query)
        return [(r["created_position"], r["last_position"], r["doc"]) for r in await self.db.fetch(sql, *args)]

    async def count_by_status(self) -> dict[str, int]:
        return await counts.by_status(self.db.fetch)

    async def count_by_type_and_status(self) -> dict[tuple[str, str], int]:
        return await counts.by_type_and_status(self.db.fetch)

    async def due_for_expiry(self, now: datetime, limit: int) -> list[UUID]:
        sql = (
            "SELECT job_id FROM job_status WHERE status IN ('waiting', 'queued', 'running') AND expires_at <= $1 "
            "ORDER BY expires_at LIMIT $2"
        )
        return [r["job_id"] for r in await self.db.fetch(sql, now, limit)]

    async def prune_status(self, finished_before: datetime) -> int:
        """Remove jobs that finished before `finished_before` from the status table, a
        thousand at a time: one long transaction would hold back every follower of the log."""
        sql = (
            "DELETE FROM job_status WHERE job_id IN (SELECT job_id FROM job_status WHERE status IN "
            f"('completed', 'failed', 'cancelled', 'expired') AND finished_at < $1 LIMIT {PRUNE_CHUNK})"
        )
        pruned = 0
        while True:
            async with self.db.connection() as conn:
                deleted = int((await conn.execute(sql, finished_before)).split()[-1])
            pruned += deleted
            if deleted < PRUNE_CHUNK:
                return pruned

    async def rebuild_status(self, fold, progress: Callable[[int], None] | None = None) -> int:
        """Replay the log into a shadow table while appends go on, then catch up under the
        append lock and swap it in, in one transaction. Reads never stop; appends wait only
        for the catch-up and the swap."""
        async with self.db.connection() as conn:
            with codec.no_gc():  # the fold builds millions of acyclic objects: nothing to collect
                position = await _build_shadow(conn, fold, progress)
                await _swap(conn, fold, position, progress)
        return len(fold.drafts)


def list_sql(query: JobFilter) -> tuple[str, list[Any]]:
    """The statement of a list and its arguments, newest first. Filtered on metadata, it reads
    job_metadata's index newest first and joins each match to its row."""
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    clauses, source, newest = [], "job_status s", "s.created_position"
    if query.metadata:
        # one index scan per pair, joined on the job's creation: the planner reads the most
        # selective pair's (its statistics say which) and merges the others in, all newest first
        (key, value), *more = query.metadata
        joins = [
            f"JOIN job_metadata m{i} ON m{i}.tenant = m.tenant AND m{i}.created_position = m.created_position"
            f" AND m{i}.key = {arg(k)} AND m{i}.value = {arg(v)}" for i, (k, v) in enumerate(more, 1)
        ]
        source = " ".join(["job_metadata m", *joins, "JOIN job_status s ON s.job_id = m.job_id"])
        newest = "m.created_position"
        clauses += [f"m.key = {arg(key)}", f"m.value = {arg(value)}"]
        if query.tenant is not None:
            clauses.append(f"m.tenant = {arg(query.tenant)}")
    for clause, value in (
        ("s.status = {}", query.status), ("s.type = {}", query.type), ("s.tenant = {}", query.tenant),
        ("s.type = ANY({})", None if query.types is None else list(query.types)),
        ("s.created_at >= {}", query.created_after), ("s.created_at < {}", query.created_before),
        ("s.finished_at < {}", query.finished_before), (newest + " < {}", query.before), (USER + " = {}", query.user),
    ):
        if value is not None:
            clauses.append(clause.format(arg(value)))
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = (
        f"SELECT s.created_position, s.last_position, s.doc::text AS doc FROM {source} {where} "
        f"ORDER BY {newest} DESC LIMIT {arg(query.limit)}"
    )
    return sql, args


async def _build_shadow(conn, fold, progress) -> int:
    """The shadow table, written and indexed from the log up to the position returned."""
    await conn.execute(f"DROP TABLE IF EXISTS {shadow.SHADOW}")
    await conn.execute(shadow.create_table("postgresql") + " WITH (fillfactor = 70)")
    position = await _fold_log(conn, fold, _FOLD_PAGE.format(SETTLED), 0, progress)
    await _write_shadow(conn, fold.rows())
    for statement in shadow.create_indexes("postgresql"):
        await conn.execute(statement)
    return position


async def _swap(conn, fold, position: int, progress) -> None:
    """Under the append lock: the rest of the log into the shadow, then the shadow in place of job_status."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPEND_LOCK)
        touched = set()
        # no append is running now: every committed event is final, settled or not
        await _fold_log(conn, fold, _FOLD_PAGE.format("true"), position, progress, touched)
        await conn.execute(f"DELETE FROM {shadow.SHADOW} WHERE job_id = ANY($1)", list(touched))
        await _write_shadow(conn, fold.rows(touched))
        await conn.execute("ALTER TABLE job_status RENAME TO job_status_replaced")
        await conn.execute(f"ALTER TABLE {shadow.SHADOW} RENAME TO job_status")
        await conn.execute("DROP TABLE job_status_replaced")
        await conn.execute(f"ALTER TABLE job_status RENAME CONSTRAINT {shadow.SHADOW}_pkey TO job_status_pkey")
        for name in shadow.index_names():
            await conn.execute(f"ALTER INDEX {name}{shadow.SUFFIX} RENAME TO {name}")
        for statement in metadata.POSTGRES_TRIGGERS:  # the replaced table's went with it
            await conn.execute(statement)
    await conn.execute(metadata.POSTGRES_FILL)  # jobs the index lacks, if any: after the swap, appends going on


async def _fold_log(conn, fold, sql: str, after: int, progress=None, touched: set | None = None) -> int:
    """Fold the log after `after` a page at a time; each page is read while the one before
    is folded (pages of settled events, read apart, miss nothing)."""
    page = await conn.fetch(sql, after, shadow.PAGE)
    while page:
        reading = asyncio.ensure_future(conn.fetch(sql, page[-1]["position"], shadow.PAGE))
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


async def _write_shadow(conn, rows: Iterable[dict[str, Any]]) -> None:
    # a generator: the rows are made while COPY sends the ones before
    records = map(_status_record, rows)
    await conn.copy_records_to_table(shadow.SHADOW, records=records, columns=_STATUS_COLUMNS)
