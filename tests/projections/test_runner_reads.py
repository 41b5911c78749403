"""What the projection runner reads: documents only where a batch needs them, and each by its key."""

import json
from uuid import uuid4

import asyncpg

from eventlog import projection_store_pg
from projections import stats
from service import storage
from service.jobs import utcnow


def _scans_of(plan: dict, table: str) -> list[dict]:
    found = [plan] if plan.get("Relation Name") == table else []
    for child in plan.get("Plans", []):
        found += _scans_of(child, table)
    return found


async def test_documents_are_read_by_their_key_whatever_the_statistics_say(pg_url):
    """A generation that grew and was rewritten with nothing analysing it (autovacuum off)
    looks tiny to the planner; reading a few of its documents must still be one index
    lookup per key, never a scan of the generation, with a custom plan or a generic one."""
    store = await storage.open_store(pg_url)
    try:
        generation = await store.start_generation(stats.NAME, active=True, now=utcnow())
        keys = [str(uuid4()) for _ in range(3000)]
        position = 0
        for status in ("queued", "running", "completed"):
            for start in range(0, len(keys), 500):
                rows = {key: {"status": status, "waits": []} for key in keys[start : start + 500]}
                assert await store.save_projection(stats.NAME, generation, rows, position, position + 1, utcnow())
                position += 1
    finally:
        await store.close()
    conn = await asyncpg.connect(pg_url)
    try:
        for mode in ("force_custom_plan", "force_generic_plan", "force_custom_plan"):
            await conn.execute(f"SET plan_cache_mode = {mode}")
            explained = await conn.fetchval(
                "EXPLAIN (FORMAT JSON) " + projection_store_pg.LOAD_ROWS, stats.NAME, generation, keys[1000:1200]
            )
            scans = _scans_of(json.loads(explained)[0]["Plan"], "projection_rows")
            assert [s["Node Type"] for s in scans] == ["Index Scan"], (mode, scans)
            assert "key" in scans[0]["Index Cond"]
            await conn.execute("ANALYZE projection_rows")  # the last round: with true statistics too
    finally:
        await conn.close()
