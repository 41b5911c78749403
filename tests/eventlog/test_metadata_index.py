"""A list filtered on metadata at 100,000 jobs reads the metadata index, never the whole status
table: shown with each backend's own EXPLAIN of the statement the store runs."""

import sqlite3

import asyncpg
import orjson
import pytest

from jobledger.application import storage
from jobledger.eventlog import metadata
from jobledger.eventlog.postgres import status as pg_status
from jobledger.eventlog.records import JobFilter
from jobledger.eventlog.sqlite import sqlite_path, status as sqlite_status

JOBS = 100_000
USERS = 1000  # user_id n % USERS: 100 jobs a user
FILTERS = [
    JobFilter(tenant="default", metadata=(("user_id", "42"),), limit=51),
    JobFilter(tenant="default", metadata=(("user_id", "42"), ("kind", "even")), status="queued", limit=51, before=90_000),
]

_PG_FILL = f"""
    INSERT INTO job_status (job_id, tenant, type, status, priority, expires_at, created_at, updated_at, version,
                            created_position, last_position, doc)
    SELECT gen_random_uuid(), 'default', 'report', 'queued', 0, now() + interval '1 day', now(), now(), 1, n, n,
           json_build_object('metadata', json_build_object('user_id', (n % {USERS})::text,
                                                           'kind', CASE n % 2 WHEN 0 THEN 'even' ELSE 'odd' END))
    FROM generate_series(1, {JOBS}) n
"""
_SQLITE_FILL = f"""
    WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {JOBS})
    INSERT INTO job_status (job_id, tenant, type, status, priority, expires_at, created_at, updated_at, version,
                            created_position, last_position, doc)
    SELECT lower(hex(randomblob(16))), 'default', 'report', 'queued', 0, '2026-12-08T00:00:00.000000+00:00',
           '2026-12-07T00:00:00.000000+00:00', '2026-12-07T00:00:00.000000+00:00', 1, n, n,
           json_object('metadata', json_object('user_id', CAST(n % {USERS} AS TEXT),
                                               'kind', CASE n % 2 WHEN 0 THEN 'even' ELSE 'odd' END))
    FROM g
"""


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


@pytest.mark.parametrize("query", FILTERS, ids=["one key", "two keys, a status and a cursor"])
async def test_postgres_reads_the_index_not_the_table(pg_url, query):
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute(_PG_FILL)
        await conn.execute("ANALYZE")
        assert await conn.fetchval("SELECT count(*) FROM job_metadata") == 2 * JOBS  # the trigger indexed every job
        sql, args = pg_status.list_sql(query)
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
        nodes = list(_nodes(orjson.loads(plan)[0]["Plan"]))
        listed = await conn.fetch(sql, *args)
    finally:
        await conn.close()

    assert listed and len(listed) <= query.limit
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], nodes
    assert metadata.INDEX in {n.get("Index Name") for n in nodes}
    read = sum(n["Actual Rows"] * n.get("Actual Loops", 1) for n in nodes if "Scan" in n["Node Type"])
    assert read <= 4 * JOBS // USERS, f"{read} rows read for one user's jobs"


@pytest.mark.parametrize("query", FILTERS, ids=["one key", "two keys, a status and a cursor"])
async def test_sqlite_searches_the_index_and_looks_up_each_row(tmp_path, query):
    db_url = f"sqlite:///{tmp_path}/jobledger.db"
    await storage.migrate(db_url)
    with sqlite3.connect(sqlite_path(db_url)) as conn:
        conn.execute(_SQLITE_FILL)
        conn.execute("ANALYZE")
        assert conn.execute("SELECT count(*) FROM job_metadata").fetchone()[0] == 2 * JOBS
        sql, args = sqlite_status.list_sql(query)
        plan = [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
        listed = conn.execute(sql, args).fetchall()

    assert listed and len(listed) <= query.limit
    assert any(step.startswith(f"SEARCH m USING INDEX {metadata.INDEX}") for step in plan), plan
    assert any(step.startswith("SEARCH s USING INDEX") for step in plan), plan  # by primary key, one row a match
    assert not [step for step in plan if step.startswith("SCAN")], plan
    assert not [step for step in plan if "TEMP B-TREE" in step], plan  # the index gives the order: no sort
