"""What every SQLite concern shares: the single writer and the reader.

SQLite allows one writer at a time: every write runs on one connection in one thread,
inside BEGIN IMMEDIATE, so positions are assigned and committed in the same order (DESIGN
invariant 3). Reads use a second connection (WAL mode lets them run beside the writer);
an in-memory database has only the one connection.
"""

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


def sqlite_path(url: str) -> str:
    """The file path in sqlite:///path (or ':memory:')."""
    path = url.split("://", 1)[1] if "://" in url else url
    return path[1:] if path.startswith("/") else path


def time_text(value: datetime | None) -> str | None:
    """A time as SQLite stores it: ISO 8601 text, to the microsecond."""
    return None if value is None else value.isoformat(timespec="microseconds")


def in_list(column: str, values: Sequence[str], negate: bool = False) -> str:
    return f"{column} {'NOT ' if negate else ''}IN ({', '.join('?' * len(values))})"


def rows(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
    """The rows of `sql`, each read by column name (the connection's own factory is left alone:
    migrations run on the writer through SQLAlchemy)."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, args).fetchall()


def first(conn: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, args).fetchone()


class Connection:
    """One sqlite3 connection, used from its own single thread."""

    def __init__(self, path: str):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobledger-sqlite")
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA busy_timeout = 10000")
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")  # an acknowledged event survives power loss

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(conn, *args)` on the connection's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, self.conn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.conn.close()


class Database:
    """The writer (every write, on its own thread) and the reader of one SQLite database."""

    def __init__(self, path: str):
        self.path = path
        self.writer = Connection(path)
        self.reader = self.writer if path == ":memory:" else Connection(path)

    async def fetch(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        """The rows of a read, on the reader."""
        return await self.reader.run(rows, sql, args)

    async def write(self, sql: str, *args: Any) -> int:
        """One write statement in a transaction of its own, on the writer; the rows it changed."""
        return await self.writer.run(lambda conn: conn.execute(sql, args).rowcount)

    async def close(self) -> None:
        self.writer.close()
        if self.reader is not self.writer:
            self.reader.close()
