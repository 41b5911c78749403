"""A job's audit bundle, over HTTP and from the CLI, on both backends: its events' canonical bytes
and inclusion proofs in a signed checkpoint, checked with the offline verifier and the public
key only; a checkpoint is issued on demand when the latest does not cover the job yet."""

import asyncio
import base64
import sys
from pathlib import Path

import orjson
import pytest

from jobledger.application import signing
from jobledger.eventlog import merkle
from jobledger.proof import ProofError
from jobledger.proof import bundle as offline_bundle
from jobledger.proof import note
from tests.audit.conftest import log_leaves
from tests.audit.test_checkpoints import make_events
from tests.service.helpers import error_of, ok

JOBLEDGER = str(Path(sys.executable).with_name("jobledger"))


def verify(bundle: dict, signer) -> None:
    offline_bundle.verify_bundle(bundle, note.parse_verifier_key(signer.verifier_key()))


async def test_a_jobs_bundle_holds_its_events_and_verifies_offline(serve, audit_settings, signer, store):
    # a long interval: the bundle's checkpoint can only come from the bundle's own, on demand
    client = await serve(audit_settings.model_copy(update={"checkpoint_interval": 3600}))
    others = await make_events(client, 3)
    job_id = (await make_events(client, 2))[1]  # created and cancelled: two events
    await make_events(client, 2)
    resp = await client.get(f"/jobs/{job_id}/bundle")
    bundle = await ok(resp)
    assert resp.content_type == "application/json"
    verify(bundle, signer)
    leaves = await log_leaves(store)
    assert bundle["format"] == "jobledger-audit-bundle/1" and bundle["job_id"] == job_id
    assert bundle["origin"] == "test.jobledger/log" and bundle["tree_size"] == len(leaves)
    assert [e["event"]["version"] for e in bundle["events"]] == [1, 2]
    assert [e["event"]["type"] for e in bundle["events"]] == ["JobCreated", "JobCancelled"]
    for entry in bundle["events"]:
        assert entry["event"]["job_id"] == job_id
        assert merkle.leaf_hash(base64.b64decode(entry["canonical"])) == leaves[entry["leaf_index"]]
    text = orjson.dumps(bundle).decode()
    assert not any(other in text for other in others)  # other jobs: hashes inside proofs only


async def test_a_bundle_of_no_job_is_404(serve, audit_settings):
    client = await serve(audit_settings)
    await error_of(await client.get("/jobs/0b9f3a5e-4c1d-4e2f-8a6b-1c2d3e4f5a6b/bundle"), 404, "job_not_found")
    await error_of(await client.get("/jobs/not-a-uuid/bundle"), 404, "job_not_found")


async def test_a_tampered_bundle_fails_offline(serve, audit_settings, signer):
    client = await serve(audit_settings)
    job_id = (await make_events(client, 2))[1]
    bundle = await ok(await client.get(f"/jobs/{job_id}/bundle"))
    verify(bundle, signer)
    forged = orjson.loads(orjson.dumps(bundle))
    canonical = base64.b64decode(forged["events"][0]["canonical"]).replace(b'"n":1', b'"n":9')
    forged["events"][0]["canonical"] = base64.b64encode(canonical).decode()
    forged["events"][0]["event"]["data"]["payload"]["n"] = 9
    with pytest.raises(ProofError):
        verify(forged, signer)
    other = signing.Signer.generate("test.jobledger/log")
    with pytest.raises(ProofError):
        verify(bundle, other)


async def _run(*args: str, env: dict | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        JOBLEDGER, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


async def test_the_cli_writes_a_bundle_from_the_service_and_from_the_database(
    serve, audit_settings, signer, db_url, tmp_path
):
    client = await serve(audit_settings.model_copy(update={"checkpoint_interval": 3600}))
    job_id = (await make_events(client, 2))[1]
    url = str(client.make_url("/")).rstrip("/")
    code, _, err = await _run("audit", "bundle", job_id, "-o", str(tmp_path / "http.json"), "--url", url)
    assert code == 0, err
    verify(orjson.loads((tmp_path / "http.json").read_bytes()), signer)
    await make_events(client, 1)  # not in any checkpoint yet: --db issues one with the signing key
    env = {"PATH": "/usr/bin:/bin", "JOBLEDGER_SIGNING_KEY": signer.signer_key(), "JOBLEDGER_LOG_ORIGIN": "test.jobledger/log"}
    code, _, err = await _run("audit", "bundle", job_id, "-o", str(tmp_path / "db.json"), "--db", db_url, env=env)
    assert code == 0, err
    verify(orjson.loads((tmp_path / "db.json").read_bytes()), signer)
    code, _, err = await _run("audit", "bundle", "0b9f3a5e-4c1d-4e2f-8a6b-1c2d3e4f5a6b", "-o", "-", "--url", url)
    assert code == 1 and "404" in err
