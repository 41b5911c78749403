"""The job status read model on SQLite: the row an append writes, reads, retention, and the rebuild."""

import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from jobledger.eventlog import codec, counts, metadata, shadow
from jobledger.eventlog.records import JobFilter, StatusRow
from jobledger.eventlog.sqlite.connection import Database, in_list, time_text

_STATUS_COLUMNS = (
    "job_id", "tenant", "type", "status", "priority", "run_at", "expires_at", "lease_expires_at",
    "created_at", "updated_at", "finished_at", "version", "created_position", "last_position", "doc",
)
_TIME_COLUMNS = ("run_at", "expires_at", "lease_expires_at", "created_at", "updated_at", "finished_at")
_UPSERT_STATUS = (
    f"INSERT INTO job_status ({', '.join(_STATUS_COLUMNS)}) VALUES ({', '.join('?' * len(_STATUS_COLUMNS))}) "
    "ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, priority = excluded.priority, "
    "run_at = excluded.run_at, expires_at = excluded.expires_at, lease_expires_at = excluded.lease_expires_at, "
    "updated_at = excluded.updated_at, finished_at = excluded.finished_at, version = excluded.version, "
    "last_position = excluded.last_position, "
    "doc = excluded.doc"
)
_INSERT_STATUS = f"INSERT INTO %s ({', '.join(_STATUS_COLUMNS)}) VALUES ({', '.join('?' * len(_STATUS_COLUMNS))})"
_FOLD_PAGE = f"SELECT {shadow.fold_select()} FROM events WHERE position > ? ORDER BY position LIMIT ?"
# A job's user is read from its document: a user-scoped list filters the rows its tenant's list
# reads (no index of its own, as tenants have none: see README, Sign-in with JWTs).
USER = "json_extract(s.doc, '$.user')"
_LOAD_CHUNK = 2000  # shadow rows written per writer transaction, between appends


def _status_values(state: dict[str, Any], created: int, last: int) -> tuple:
    values = {**state, "created_position": created, "last_position": last}
    values["job_id"] = state["job_id"].hex
    for column in _TIME_COLUMNS:
        values[column] = time_text(values[column])
    return tuple(values[c] for c in _STATUS_COLUMNS)


def _parsed_row(r) -> dict[str, Any]:
    row = {c: r[c] for c in _STATUS_COLUMNS}
    row["job_id"] = UUID(row["job_id"])
    for column in _TIME_COLUMNS:
        row[column] = row[column] and datetime.fromisoformat(row[column])
    return row


def write_row(conn: sqlite3.Connection, state: dict[str, Any], created: int, last: int) -> None:
    """Write a job's status row in the writer's open transaction (the append's)."""
    # created_position is only written by the first insert; the upsert keeps it after that
    conn.execute(_UPSERT_STATUS, _status_values(state, created, last))


class SQLiteStatus:
    def __init__(self, db: Database):
        self.db = db

    async def status_versions(self) -> dict[UUID, int]:
        return {UUID(r["job_id"]): r["version"] for r in await self.db.fetch("SELECT job_id, version FROM job_status")}

    async def status_rows(self, after: UUID | None = None, limit: int = 5000) -> list[dict[str, Any]]:
        sql = f"SELECT {', '.join(_STATUS_COLUMNS)} FROM job_status WHERE job_id > ? ORDER BY job_id LIMIT ?"
        rows = await self.db.fetch(sql, after.hex if after else "", limit)
        return [_parsed_row(r) for r in rows]

    async def get_status(self, job_id: UUID) -> StatusRow | None:
        sql = (
            f"SELECT job_id, version, last_position, doc, tenant, type, {USER} AS user FROM job_status s WHERE job_id = ?"
        )
        rows = await self.db.fetch(sql, job_id.hex)
        if not rows:
            return None
        r = rows[0]
        return StatusRow(
            job_id=UUID(r["job_id"]), version=r["version"], last_position=r["last_position"], doc=r["doc"],
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
            "SELECT job_id FROM job_status WHERE status IN ('waiting', 'queued', 'running') AND expires_at <= ? "
            "ORDER BY expires_at LIMIT ?"
        )
        return [UUID(r["job_id"]) for r in await self.db.fetch(sql, time_text(now), limit)]

    async def prune_status(self, finished_before: datetime) -> int:
        """Remove jobs that finished before `finished_before` from the status table."""
        sql = (
            "DELETE FROM job_status WHERE status IN ('completed', 'failed', 'cancelled', 'expired') "
            "AND finished_at < ?"
        )
        return await self.db.write(sql, time_text(finished_before))

    async def rebuild_status(self, fold, progress: Callable[[int], None] | None = None) -> int:
        """Replay the log into a shadow table (read on the reader, written in small
        transactions between appends), then catch up and swap it in under the writer."""
        with codec.no_gc():  # the fold builds millions of acyclic objects: nothing to collect
            await self.db.writer.run(_create_shadow)
            position = await self.db.reader.run(_fold_log, fold, 0)
            if progress is not None:
                progress(position)
            rows = list(fold.rows())
            for start in range(0, len(rows), _LOAD_CHUNK):
                await self.db.writer.run(_load_shadow, rows[start : start + _LOAD_CHUNK])
            await self.db.writer.run(_swap, fold, position)
        return len(fold.drafts)


def list_sql(query: JobFilter) -> tuple[str, list[Any]]:
    """The statement of a list and its arguments, newest first. Filtered on metadata (and a
    tenant, as every caller is), it reads job_metadata's index for the first pair, newest
    first, and looks each match up in job_status: CROSS JOIN keeps that order of the join."""
    clauses, args, source, newest = [], [], "job_status s", "s.created_position"
    if query.metadata:
        (key, value), *more = query.metadata
        lookup = f"INDEXED BY {metadata.INDEX}" if query.tenant is not None else ""
        source, newest = f"job_metadata m {lookup} CROSS JOIN job_status s ON s.job_id = m.job_id", "m.created_position"
        clauses += ["m.key = ?", "m.value = ?"]
        args += [key, value]
        if query.tenant is not None:
            clauses.append("m.tenant = ?")
            args.append(query.tenant)
        for k, v in more:
            clauses.append("EXISTS (SELECT 1 FROM job_metadata x WHERE x.job_id = s.job_id AND x.key = ? AND x.value = ?)")
            args += [k, v]
    for clause, value in (
        ("s.status = ?", query.status), ("s.type = ?", query.type), ("s.tenant = ?", query.tenant),
        ("s.created_at >= ?", time_text(query.created_after)), ("s.created_at < ?", time_text(query.created_before)),
        ("s.finished_at < ?", time_text(query.finished_before)),
        (f"{newest} < ?", query.before), (f"{USER} = ?", query.user),
    ):
        if value is not None:
            clauses.append(clause)
            args.append(value)
    if query.types is not None:
        clauses.append(in_list("s.type", query.types))
        args += query.types
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT s.created_position, s.last_position, s.doc FROM {source} {where} ORDER BY {newest} DESC LIMIT ?"
    return sql, [*args, query.limit]


def _fold_log(conn: sqlite3.Connection, fold, after: int, touched: set | None = None) -> int:
    while page := conn.execute(_FOLD_PAGE, (after, shadow.PAGE)).fetchall():
        after = shadow.fold_page(fold, page, touched, job_id=UUID, time=datetime.fromisoformat)
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
        for statement in metadata.SQLITE_TRIGGERS:  # the dropped table's went with it
            conn.execute(statement)
        conn.execute(metadata.SQLITE_FILL)  # jobs the index lacks, if any
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
