"""Reading and writing a test database straight, on either backend (around the service, not through it)."""

import sqlite3

import asyncpg

from jobledger.eventlog.sqlite import sqlite_path


async def query(db_url: str, sql: str) -> list[tuple]:
    """Run one statement on the database; its rows, as tuples."""
    if db_url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(db_url)) as conn:
            return conn.execute(sql).fetchall()
    conn = await asyncpg.connect(db_url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()
