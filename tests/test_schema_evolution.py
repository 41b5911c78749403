"""Events stored under an older schema version still fold and project correctly."""

import asyncio
import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg

from jobledger.eventlog import chain, codec
from jobledger.eventlog.sqlite import sqlite_path
from jobledger.projections import job_status

AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

V1_HISTORY = [
    ("JobCreated", 1, {
        "job_type": "legacy", "tenant": "default", "payload": {"doc": 1}, "metadata": {}, "phases": [],
        "priority": 0, "max_attempts": 3, "run_at": None, "expires_at": (AT + timedelta(days=3650)).isoformat(),
        "idempotency_key": None, "request_hash": None,
    }),
    ("JobStarted", 1, {
        "attempt": 1, "worker_id": "w-old", "lease_token": "secret-token",
        "lease_expires_at": (AT + timedelta(minutes=5)).isoformat(),
    }),
]


async def store_v1_history(db_url: str):
    """Write v1 events straight into the log, as an older release did (hash chain included)."""
    job_id, previous, rows = uuid4(), "", []
    for version, (type_, schema, data) in enumerate(V1_HISTORY, 1):
        at = AT + timedelta(seconds=version)
        text, meta = codec.dumps(data), codec.dumps({"actor": "v1"})
        previous = chain.link(previous, chain.digest(job_id, version, type_, schema, at, text, meta))
        rows.append((job_id, version, type_, schema, text, meta, at, previous))
    sql = "INSERT INTO events (stream_id, version, type, schema_version, data, metadata, recorded_at, hash) VALUES "
    if db_url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(db_url)) as conn:
            conn.executemany(sql + "(?, ?, ?, ?, ?, ?, ?, ?)", [
                (r[0].hex, *r[1:6], r[6].isoformat(timespec="microseconds"), r[7]) for r in rows
            ])
    else:
        conn = await asyncpg.connect(db_url)
        await conn.executemany(sql + "($1, $2, $3, $4, $5, $6, $7, $8)", rows)
        await conn.close()
    return job_id


async def test_v1_events_fold_project_and_verify(store, db_url, aiohttp_client):
    from jobledger.web.app import create_app
    from jobledger.web.config import Settings

    job_id = await store_v1_history(db_url)
    assert await store.status.rebuild_status(job_status.Rebuild()) == 1
    doc = codec.loads((await store.status.get_status(job_id)).doc)
    assert (doc["status"], doc["worker_id"], doc["attempts"]) == ("running", "w-old", 1)
    assert doc["retry_base_seconds"] == 1.0 and doc["retry_max_seconds"] == 300.0
    assert doc["lease_token_hash"] == hashlib.sha256(b"secret-token").hexdigest()
    assert "lease_token" not in doc

    client = await aiohttp_client(create_app(Settings(db=db_url, sweep_interval=0.05)))
    for _ in range(100):  # the v1 lease ran out long ago: the sweeper takes the job back
        job = await (await client.get(f"/jobs/{job_id}")).json()
        if job["status"] == "queued":
            break
        await asyncio.sleep(0.05)
    assert (job["status"], job["attempts"], job["max_attempts"]) == ("queued", 1, 3)
    events = (await (await client.get(f"/jobs/{job_id}/events")).json())["events"]
    assert [(e["type"], e["schema_version"]) for e in events] == [
        ("JobCreated", 1), ("JobStarted", 1), ("LeaseExpired", 1), ("RetryScheduled", 1)
    ]
    assert (await (await client.get(f"/jobs/{job_id}/verify")).json())["ok"] is True
