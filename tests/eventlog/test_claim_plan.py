"""A claim reads its candidates in claim order off a queue index, never sorting the whole queue.

Claims run under the append lock: a claim that sorted every queued job (4 ms at 10,000
queued) held every append up for as long. These tests look at the query plans each
backend makes for the candidate queries, on a queue of several thousand jobs.
"""

import sqlite3

import pytest

from eventlog import postgres, sqlite

QUEUED = 3000
TYPES = ("report", "ocr", "llm")


def _fill_sql(placeholders: str) -> str:
    return (
        "INSERT INTO job_status (job_id, tenant, type, status, priority, run_at, expires_at, lease_expires_at,"
        f" created_at, updated_at, version, created_position, last_position, doc) VALUES ({placeholders})"
    )


def _rows(job_id, at):
    return [
        (job_id(k), "default", TYPES[k % 3], "queued" if k % 4 else "running", k % 5, None, at, None, at, at, 1, k, k, "{}")
        for k in range(1, QUEUED + 1)
    ]


async def test_postgresql_candidate_queries_read_the_queue_index_in_order(pg_url):
    from datetime import UTC, datetime, timedelta
    from uuid import uuid4

    from service import storage

    store = await storage.open_store(pg_url)
    try:
        later = datetime.now(UTC) + timedelta(days=1)
        async with store.pool.acquire() as conn:
            await conn.executemany(_fill_sql(", ".join(f"${i}" for i in range(1, 15))), _rows(lambda _: uuid4(), later))
            await conn.execute("ANALYZE job_status")
            for sql, which, index in (
                (postgres._CANDIDATES_OF_TYPE, "ocr", "job_status_queue"),
                (postgres._CANDIDATES_OF_ANY_TYPE, ["llm"], "job_status_queue_any"),
            ):
                plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, datetime.now(UTC), which, 100, None))
                assert "Sort" not in plan, plan
                assert f"Index Scan using {index} " in plan, plan
    finally:
        await store.close()


@pytest.mark.parametrize("any_type", [False, True])
def test_sqlite_candidate_queries_read_the_queue_index_in_order(tmp_path, any_type):
    import asyncio

    from service import storage

    path = tmp_path / "plan.db"
    asyncio.run(storage.migrate(f"sqlite:///{path}"))
    conn = sqlite3.connect(path)
    try:
        conn.executemany(_fill_sql(", ".join("?" * 14)), _rows(lambda k: f"{k:032x}", "2999-01-01T00:00:00+00:00"))
        conn.execute("ANALYZE")
        clauses = ["status = 'queued'", "(run_at IS NULL OR run_at <= ?)", "expires_at > ?"]
        clauses.append("type NOT IN (?)" if any_type else "type = ?")
        sql = sqlite._candidates_sql(any_type, clauses)
        plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, ("2026", "2026", "llm", 100)))
        assert "TEMP B-TREE" not in plan, plan
        assert ("job_status_queue_any" if any_type else "job_status_queue ") in plan + " ", plan
    finally:
        conn.close()
