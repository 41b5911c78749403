"""Tamper evidence: editing, deleting or reordering stored events is detected."""

import sqlite3
import subprocess
import sys
from uuid import UUID

import asyncpg
import pytest

from jobledger.eventlog.sqlite import sqlite_path
from tests.audit.cli import jobledger

CLI = [sys.executable, "-c", "from jobledger.cli.commands import main; main()"]


async def sql(db_url: str, statement: str, *args) -> None:
    """Change the database behind the service's back, as an attacker (or a bug) would."""
    if db_url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(db_url)) as conn:
            conn.execute(statement.replace("$1", "?").replace("$2", "?"), args)
        return
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


async def a_finished_job(client) -> tuple[str, list[dict]]:  # noqa: D103
    job = await (await client.post("/jobs", json={"type": "audit", "payload": {"amount": 10}})).json()
    await client.post(f"/jobs/{job['id']}/start")
    await client.post(f"/jobs/{job['id']}/progress", json={"percent": 50})
    await client.post(f"/jobs/{job['id']}/complete", json={"result": "ok"})
    events = (await (await client.get(f"/jobs/{job['id']}/events")).json())["events"]
    return job["id"], events


def audit_cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "audit", "verify", "--db", db_url, *args], capture_output=True, text=True, timeout=120)


async def test_an_untouched_log_verifies(client, db_url):
    job_id, events = await a_finished_job(client)
    assert all(len(e["hash"]) == 64 for e in events)
    report = await (await client.get(f"/jobs/{job_id}/verify")).json()
    assert report == {"job_id": job_id, "ok": True, "events": 4, "broken": None, "problems": []}
    result = audit_cli(db_url)
    assert result.returncode == 0, result.stderr
    assert "4 events verified" in result.stdout


TAMPERING = {
    "edit data": ("UPDATE events SET data = $1 WHERE position = $2", lambda e: ['{"percent":99}', e[2]["position"]], 3),
    "delete middle": ("DELETE FROM events WHERE position = $1", lambda e: [e[1]["position"]], 2),
    "delete tail": ("DELETE FROM events WHERE position = $1", lambda e: [e[3]["position"]], 4),
    "reorder": (
        "UPDATE events SET position = $1 WHERE position = $2",
        lambda e: [e[3]["position"] + 1000, e[1]["position"]],
        2,
    ),
}


@pytest.mark.parametrize("how", list(TAMPERING))
async def test_tampering_is_detected_by_the_api_and_the_cli(client, db_url, how):
    job_id, events = await a_finished_job(client)
    statement, args, broken_version = TAMPERING[how]
    await sql(db_url, statement, *args(events))

    report = await (await client.get(f"/jobs/{job_id}/verify")).json()
    assert report["ok"] is False
    assert report["broken"]["version"] == broken_version

    result = audit_cli(db_url)
    assert result.returncode == 1
    assert f"job {job_id} at version {broken_version}" in result.stderr
    assert audit_cli(db_url, "--job", job_id).returncode == 1


async def test_other_jobs_still_verify_alone(client, db_url):
    broken_id, events = await a_finished_job(client)
    intact_id, _ = await a_finished_job(client)
    await sql(db_url, "UPDATE events SET type = $1 WHERE position = $2", "JobFailed", events[3]["position"])
    assert (await (await client.get(f"/jobs/{intact_id}/verify")).json())["ok"] is True
    assert audit_cli(db_url, "--job", intact_id).returncode == 0
    assert audit_cli(db_url, "--job", broken_id).returncode == 1


async def test_verify_unknown_job_is_404(client):
    assert (await client.get("/jobs/00000000-0000-0000-0000-000000000000/verify")).status == 404


async def test_every_broken_job_is_reported_not_only_the_first(client, db_url):
    """Five jobs broken five ways: the count and the list name each one."""
    jobs = [await a_finished_job(client) for _ in range(6)]
    (a, ea), (b, eb), (c, ec), (d, _), (e, _), (intact, _) = jobs
    await sql(db_url, "UPDATE events SET data = $1 WHERE position = $2", '{"percent":99}', ea[2]["position"])
    await sql(db_url, "DELETE FROM events WHERE position = $1", eb[3]["position"])
    await sql(db_url, "UPDATE events SET type = $1 WHERE position = $2", "JobFailed", ec[3]["position"])
    await sql(db_url, "DELETE FROM events WHERE stream_id = $1", UUID(d).hex if db_url.startswith("sqlite") else UUID(d))
    await sql(db_url, "UPDATE job_status SET status = $1 WHERE job_id = $2", "queued", UUID(e).hex if db_url.startswith("sqlite") else UUID(e))
    ran = await jobledger("audit", "verify", "--db", db_url)
    assert ran.code == 1
    job_lines = [line for line in ran.err.splitlines() if line.startswith(("  chain:", "  row:"))]
    assert len(job_lines) == 5, ran.err  # the tree's own findings (if the builder got there) come besides
    for line in (f"job {a} at version 3: hash mismatch", f"job {b} at version 4: the log ends at version 3",
                 f"job {c} at version 4: hash mismatch", f"job {d} at version 1: the log ends at version 0",
                 f"job {e}: the status row differs from the fold of its events in: status"):
        assert line in ran.err, ran.err
    assert intact not in ran.err
    report = await (await client.get(f"/jobs/{e}/verify")).json()
    assert report["ok"] is False and report["problems"][0]["kind"] == "row"


async def test_verifying_a_job_that_does_not_exist_fails(client, db_url):
    ran = await jobledger("audit", "verify", "--db", db_url, "--job", "00000000-0000-4000-8000-000000000000")
    assert ran.code == 1 and "no such job: 00000000-0000-4000-8000-000000000000" in ran.err
