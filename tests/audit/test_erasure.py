"""A purged job keeps the log provable: `audit verify`, the witness, an offline bundle and an
export's import all still hold after its data is erased, on both backends. And the commitments kept
of erased events cannot hide an edit: marking an event erased without an erasure, or putting data
back into an erased event, is named by `audit verify`."""

from uuid import UUID

from tests.audit.test_bundle_offline import verify_bundle
from tests.audit.test_tamper import detected, job_param, log, sql  # noqa: F401 - the signed log fixture
from tests.audit.cli import jobledger
from tests.service.helpers import ok


async def test_an_erased_job_still_verifies_for_the_auditor_and_the_witness(log, tmp_path):
    erased = log.jobs[1]
    await ok(await log.client.post(f"/jobs/{erased}/purge", json={"reason": "the customer asked"}))
    await log.client.post("/checkpoint")

    verified, watched = await log.verify(), await log.watch()

    assert verified.code == 0 and "ok: 13 events verified" in verified.out, verified.err
    assert watched.code == 0, watched.err
    bundle = await ok(await log.client.get(f"/jobs/{erased}/bundle"))
    # held data: JobCreated (its payload) and JobCompleted (its result); its start, progress (a percent) and erasure none
    assert [e.get("erased", False) for e in bundle["events"]] == [True, False, False, True, False]
    code, out = await verify_bundle(tmp_path, "erased", bundle, log.key)
    assert code == 0 and "2 of them erased" in out, out
    assert '"amount"' not in str(bundle)


async def test_an_export_with_an_erased_job_imports_and_verifies(log, tmp_path, backend, request):
    await ok(await log.client.post(f"/jobs/{log.jobs[0]}/purge", json={}))
    await log.client.post("/checkpoint")
    exported = tmp_path / "log.jsonl"
    ran = await jobledger("export", "--db", log.db_url)
    assert ran.code == 0, ran.err
    exported.write_text(ran.out)
    assert '"erased":{"digest"' in ran.out

    target = request.getfixturevalue("pg_url") if backend == "sqlite" else f"sqlite:///{tmp_path / 'copy.db'}"
    ran = await jobledger("import", str(exported), "--db", target, "--key", log.key)

    assert ran.code == 0, ran.out + ran.err
    again = await jobledger("audit", "verify", "--db", target, "--key", log.key)
    assert again.code == 0 and "ok: 13 events verified" in again.out, again.err


async def test_data_put_back_into_an_erased_event_is_named(log):
    erased = log.jobs[2]
    await ok(await log.client.post(f"/jobs/{erased}/purge", json={}))
    created = log.events[erased][0]
    await sql(log.db_url, ("UPDATE events SET data = $1 WHERE position = $2",
                           (_with_payload(created["data"]), created["position"])))

    await detected(log, [f"the event at position {created['position']} is marked erased but holds the job's data"], None)


async def test_an_event_marked_erased_without_an_erasure_is_named(log, store):
    """The attacker edits a job's result away and keeps the chain whole by marking the event erased
    with the commitments of its bytes as they were: its job records no JobErased."""
    job = log.jobs[0]
    raw = (await store.log.raw_stream(UUID(job)))[-1]  # JobCompleted {"result": "ok"}
    from jobledger.application import audit_tree
    import hashlib
    from jobledger.proof import merkle

    canonical = audit_tree.canonical_of(raw)
    await sql(
        log.db_url,
        ("UPDATE events SET data = $1 WHERE position = $2", ('{"result":null}', raw.position)),
        ("INSERT INTO erased_events (position, stream_id, digest, leaf) VALUES ($1, $2, $3, $4)",
         (raw.position, job_param(log.db_url, job), hashlib.sha256(canonical).digest(), merkle.leaf_hash(canonical))),
    )

    await detected(log, [f"the event at position {raw.position} is marked erased but its job records no JobErased"], None)


def _with_payload(data: dict) -> str:
    import json

    return json.dumps({**data, "payload": {"amount": 10}})
