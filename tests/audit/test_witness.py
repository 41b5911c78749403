"""The witness (`jobledger audit watch`) on each backend: it keeps the last checkpoint it verified
and fails loudly when the log's next one does not extend it. Each test defends against a
database attacker who makes the service sign a history other than the one it signed before."""

import asyncio
import sys
from pathlib import Path

from tests.audit.cli import jobledger
from tests.audit.test_tamper import a_finished_job, sql
from tests.service.helpers import ok

JOBLEDGER = str(Path(sys.executable).with_name("jobledger"))
TREE = ("merkle_leaves", "merkle_nodes", "merkle_checkpoints")


async def watch(client, signer, state: Path, *more: str):
    return await jobledger("audit", "watch", str(client.make_url("")), "--key", signer.verifier_key(), "--state", str(state), *more)


async def signed_jobs(client, jobs: int) -> list[str]:
    ids = [await a_finished_job(client) for _ in range(jobs)]
    await client.post("/checkpoint")
    return ids


async def test_the_witness_keeps_each_checkpoint_that_extends_the_last(serve, audit_settings, signer, tmp_path):
    client = await serve(audit_settings)
    await signed_jobs(client, 2)
    first = await watch(client, signer, tmp_path)
    assert first.code == 0 and "checkpoint of size 8 of test.jobledger/log kept" in first.out, first.err
    await signed_jobs(client, 1)
    second = await watch(client, signer, tmp_path)
    assert second.code == 0 and "checkpoint of size 12 of test.jobledger/log extends the kept one of size 8" in second.out
    assert (tmp_path / "checkpoint").read_text() == await (await client.get("/checkpoint")).text()


async def test_a_checkpoint_under_another_key_is_refused_and_not_kept(serve, audit_settings, signer, tmp_path):
    client = await serve(audit_settings)
    await signed_jobs(client, 1)
    stranger = type(signer).generate("test.jobledger/log")
    ran = await watch(client, stranger, tmp_path)
    assert ran.code == 1 and "the log's checkpoint does not verify with the key test.jobledger/log" in ran.err
    assert not (tmp_path / "checkpoint").exists()


async def restarted_on(serve, audit_settings, client, db_url, *edits):
    """The attacker stops the service, edits the database, empties the tree and starts it again:
    the service rebuilds the tree from the edited log and signs it with its own key."""
    await client.close()
    await sql(db_url, *edits, *[(f"DELETE FROM {t}", ()) for t in TREE])
    return await serve(audit_settings)


async def test_a_rewritten_history_fails_the_witness_even_when_the_log_signs_it(serve, audit_settings, signer, db_url, tmp_path):
    client = await serve(audit_settings)
    job_id = (await signed_jobs(client, 3))[0]
    assert (await watch(client, signer, tmp_path)).code == 0
    kept = (tmp_path / "checkpoint").read_text()
    events = (await ok(await client.get(f"/jobs/{job_id}/events")))["events"]
    client = await restarted_on(
        serve, audit_settings, client, db_url,
        # the leaf stored at append goes too (migration 0016): the builder then hashes the edited event
        ("UPDATE events SET data = $1, leaf = NULL WHERE position = $2", ('{"percent":99}', events[2]["position"])),
    )
    await client.post("/checkpoint")
    same_size = await watch(client, signer, tmp_path)
    assert same_size.code == 1 and "two different roots signed for the same size 12" in same_size.err, same_size.err
    await signed_jobs(client, 1)
    grown = await watch(client, signer, tmp_path)
    assert grown.code == 1 and "the tree of 16 leaves does not extend the tree of 12 leaves" in grown.err, grown.err
    assert (tmp_path / "checkpoint").read_text() == kept  # a failed check keeps the old checkpoint


async def test_a_truncated_log_fails_the_witness(serve, audit_settings, signer, db_url, tmp_path):
    client = await serve(audit_settings)
    last = (await signed_jobs(client, 3))[-1]
    assert (await watch(client, signer, tmp_path)).code == 0
    events = (await ok(await client.get(f"/jobs/{last}/events")))["events"]
    client = await restarted_on(
        serve, audit_settings, client, db_url, ("DELETE FROM events WHERE position >= $1", (events[2]["position"],)),
    )
    await client.post("/checkpoint")
    ran = await watch(client, signer, tmp_path)
    assert ran.code == 1 and "the log shrank from 12 to 10 leaves: leaves 10..11 were truncated or deleted" in ran.err


async def test_a_continuous_witness_stops_loudly_at_the_first_edit(serve, audit_settings, signer, db_url, tmp_path):
    """`--every`: a separate witness process checks again and again; an edit of an event (the tree
    untouched) shows against the database's events, naming the leaf."""
    client = await serve(audit_settings)
    job_id = (await signed_jobs(client, 2))[1]
    proc = await asyncio.create_subprocess_exec(
        JOBLEDGER, "audit", "watch", str(client.make_url("")), "--key", signer.verifier_key(), "--state", str(tmp_path),
        "--db", db_url, "--every", "0.2", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 120)
        assert first.startswith(b"ok: checkpoint of size 8"), first
        events = (await ok(await client.get(f"/jobs/{job_id}/events")))["events"]
        await sql(db_url, ("UPDATE events SET data = $1 WHERE position = $2", ('{"percent":99}', events[2]["position"])))
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 1
    assert f"ALERT: leaf 6 (position {events[2]['position']}, job {job_id} version 3) is not what was signed" in err.decode()
