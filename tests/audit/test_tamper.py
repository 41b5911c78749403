"""Tamper tests: an attacker with write access to the database (no signing key) edits it by direct
SQL, on both backends. `jobledger audit verify` (with the log's verifier key) and the witness
(`jobledger audit watch`, holding the checkpoint it verified before, with --db) each fail on the
next run, naming what changed. Each test defends against the edit its name gives."""

import sqlite3
from uuid import UUID

import asyncpg
import pytest
from pydantic import SecretStr

from jobledger.application import signing
from jobledger.eventlog import chain
from jobledger.eventlog.sqlite import sqlite_path
from tests.audit.cli import jobledger
from tests.service.helpers import ok


async def sql(db_url: str, *statements: tuple[str, tuple]) -> None:
    """Run statements in one transaction behind the service's back ($1.. placeholders)."""
    if db_url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(db_url)) as conn:
            for statement, args in statements:
                conn.execute(statement.replace("$1", "?").replace("$2", "?").replace("$3", "?").replace("$4", "?"), args)
        return
    conn = await asyncpg.connect(db_url)
    try:
        async with conn.transaction():
            for statement, args in statements:
                await conn.execute(statement, *args)
    finally:
        await conn.close()


def job_param(db_url: str, job_id: str):
    """A job id as each backend stores it: hex text on SQLite, a uuid on PostgreSQL."""
    return UUID(job_id).hex if db_url.startswith("sqlite") else UUID(job_id)


class Log:
    """A signed log of three finished jobs (4 events each), a witness that saw its checkpoint."""

    def __init__(self, client, signer, db_url, state):
        self.client, self.signer, self.db_url, self.state = client, signer, db_url, state
        self.jobs: list[str] = []
        self.events: dict[str, list[dict]] = {}

    @property
    def key(self) -> str:
        return self.signer.verifier_key()

    def leaf_of(self, position: int) -> int:
        return sorted(e["position"] for events in self.events.values() for e in events).index(position)

    async def verify(self):
        return await jobledger("audit", "verify", "--db", self.db_url, "--key", self.key)

    async def watch(self, url: str | None = None):
        url = url or str(self.client.make_url(""))
        return await jobledger("audit", "watch", url, "--key", self.key, "--state", str(self.state), "--db", self.db_url)


async def a_finished_job(client) -> str:
    job = await ok(await client.post("/jobs", json={"type": "audit", "payload": {"amount": 10}}), 201)
    await ok(await client.post(f"/jobs/{job['id']}/start"))
    await ok(await client.post(f"/jobs/{job['id']}/progress", json={"percent": 50}))
    await ok(await client.post(f"/jobs/{job['id']}/complete", json={"result": "ok"}))
    return job["id"]


@pytest.fixture
async def log(serve, audit_settings, signer, db_url, tmp_path) -> Log:
    log = Log(await serve(audit_settings), signer, db_url, tmp_path / "witness")
    for _ in range(3):
        job_id = await a_finished_job(log.client)
        log.jobs.append(job_id)
        log.events[job_id] = (await ok(await log.client.get(f"/jobs/{job_id}/events")))["events"]
    await log.client.post("/checkpoint")
    verified, watched = await log.verify(), await log.watch()
    assert verified.code == 0 and "ok: 12 events verified" in verified.out, verified.err
    assert watched.code == 0 and "checkpoint of size 12" in watched.out, watched.err
    return log


async def detected(log: Log, by_verify: list[str], by_witness: list[str] | None) -> None:
    ran = await log.verify()
    assert ran.code == 1, ran.out
    for text in by_verify:
        assert text in ran.err, ran.err
    watched = await log.watch()
    if by_witness is None:  # not an edit of the log: the witness rightly sees nothing
        assert watched.code == 0, watched.err
        return
    assert watched.code == 1, watched.out
    for text in by_witness:
        assert text in watched.err, watched.err


async def test_editing_an_events_data(log):
    a, position = log.jobs[1], log.events[log.jobs[1]][2]["position"]
    await sql(log.db_url, ("UPDATE events SET data = $1 WHERE position = $2", ('{"percent":99}', position)))
    leaf = log.leaf_of(position)
    await detected(
        log,
        # the first checkpoint past the edit is named: size 12, or an earlier one the interval issued
        [f"job {a} at version 3: hash mismatch", f"leaf {leaf} differs", "events do not hash to the root signed at size"],
        [f"leaf {leaf} (position {position}, job {a} version 3) is not what was signed"],
    )


async def test_editing_an_event_and_recomputing_its_chain(log, store):
    """The attacker knows the chain's rule (it has no secret): the chain verifies, the tree and the row do not."""
    a = log.jobs[0]
    raw = await store.log.raw_stream(UUID(a))
    last = raw[-1]
    data = last.data.replace('"ok"', '"FORGED"')
    forged = chain.link(raw[-2].hash, chain.digest(
        last.stream_id, last.version, last.type, last.schema_version, last.recorded_at, data, last.metadata
    ))
    await sql(log.db_url, ("UPDATE events SET data = $1, hash = $2 WHERE position = $3", (data, forged, last.position)))
    leaf = log.leaf_of(last.position)
    await detected(
        log,
        [f"job {a}: the status row differs from the fold of its events in: doc.result", f"leaf {leaf} differs"],
        [f"leaf {leaf} (position {last.position}, job {a} version 4) is not what was signed"],
    )


async def test_deleting_a_jobs_last_event_with_its_status_row(log):
    a = log.jobs[0]
    position = log.events[a][3]["position"]
    await sql(
        log.db_url,
        ("DELETE FROM events WHERE position = $1", (position,)),
        ("DELETE FROM job_status WHERE job_id = $1", (job_param(log.db_url, a),)),
    )
    leaf = log.leaf_of(position)
    await detected(
        log,
        [f"job {a}: the job has events but no status row", f"leaf {leaf} differs", f"the tree recorded position {position} of job {a}"],
        [f"leaf {leaf} (position", "is not what was signed"],
    )


async def test_deleting_a_whole_job(log):
    a = log.jobs[0]
    await sql(
        log.db_url,
        ("DELETE FROM events WHERE stream_id = $1", (job_param(log.db_url, a),)),
        ("DELETE FROM job_status WHERE job_id = $1", (job_param(log.db_url, a),)),
    )
    first = log.events[a][0]["position"]
    await detected(
        log,
        ["leaf 0 differs", f"the tree recorded position {first} of job {a}", "the log holds 8 events but a checkpoint of size 12"],
        [f"leaf 0 (position {log.events[log.jobs[1]][0]['position']}, job {log.jobs[1]} version 1) is not what was signed",
         "the log holds 8 events but the checkpoint signs 12"],
    )


async def test_truncating_the_logs_tail(log):
    c = log.jobs[2]
    await sql(log.db_url, ("DELETE FROM events WHERE position >= $1", (log.events[c][2]["position"],)))
    await detected(
        log,
        [f"job {c} at version 3: the log ends at version 2 but version 4 was recorded",
         "the log holds 10 events but a checkpoint of size 12 was signed"],
        ["the log holds 10 events but the checkpoint signs 12: leaves 10..11 were deleted or truncated"],
    )


async def test_swapping_two_events_positions(log):
    """Events of two jobs trade places: each job's chain still reads in order; only the log's order changed."""
    a, b = log.jobs[0], log.jobs[1]
    pa, pb = log.events[a][3]["position"], log.events[b][0]["position"]
    await sql(
        log.db_url,
        ("UPDATE events SET position = $1 WHERE position = $2", (-1, pa)),
        ("UPDATE events SET position = $1 WHERE position = $2", (pa, pb)),
        ("UPDATE events SET position = $1 WHERE position = $2", (pb, -1)),
    )
    leaf = log.leaf_of(pa)
    await detected(
        log,
        [f"leaf {leaf} differs", f"job {a}: the status row differs from the fold of its events in: last_position"],
        [f"leaf {leaf} (position {pa}, job {b} version 1) is not what was signed"],
    )


@pytest.mark.parametrize("edit, fields", [
    ({"sqlite": "UPDATE job_status SET doc = replace(doc, '\"ok\"', '\"FORGED\"') WHERE job_id = $1",
      "postgres": "UPDATE job_status SET doc = replace(doc::text, '\"ok\"', '\"FORGED\"')::json WHERE job_id = $1"},
     "doc.result"),
    ({"sqlite": "UPDATE job_status SET status = 'queued', version = 2 WHERE job_id = $1",
      "postgres": "UPDATE job_status SET status = 'queued', version = 2 WHERE job_id = $1"},
     "the status row says version 2 but the log holds 4"),
])
async def test_editing_a_status_row(log, edit, fields):
    a = log.jobs[1]
    backend = "sqlite" if log.db_url.startswith("sqlite") else "postgres"
    await sql(log.db_url, (edit[backend], (job_param(log.db_url, a),)))
    assert (await ok(await log.client.get(f"/jobs/{a}/verify")))["ok"] is False
    await detected(log, [f"job {a}: ", fields], None)


async def test_replacing_the_log_with_a_forged_one_under_a_new_key(log, serve, audit_settings):
    """A consistent forgery (chains, rows, tree and checkpoints all rebuilt) signed by the attacker's own key."""
    await log.client.close()
    await sql(log.db_url, *[(f"DELETE FROM {t}", ()) for t in (
        "events", "job_status", "merkle_leaves", "merkle_nodes", "merkle_checkpoints")])
    forger = signing.Signer.generate("test.jobledger/log")  # the same name, another key
    forged = await serve(audit_settings.model_copy(update={"signing_key": SecretStr(forger.signer_key())}))
    for _ in range(4):
        await a_finished_job(forged)
    await forged.post("/checkpoint")
    ran = await log.verify()
    assert ran.code == 1 and "checkpoint of size 16: the note is not signed by the key" in ran.err, ran.err
    watched = await log.watch(str(forged.make_url("")))
    assert watched.code == 1
    assert "the log's checkpoint does not verify with the key test.jobledger/log" in watched.err, watched.err
