"""A job's audit bundle, fetched from the service on each backend, verified by `jobledger audit
verify-bundle` in a separate process that holds only the bundle and the log's public key (its
database setting points nowhere: it must not need one). Defends against a bundle that was edited,
proven against another key, or carries a proof that does not lead to the signed root."""

import asyncio
import base64
import json
import os
import sys
from pathlib import Path

from tests.audit.test_tamper import a_finished_job
from tests.service.helpers import ok

JOBLEDGER = str(Path(sys.executable).with_name("jobledger"))
NOWHERE = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "JOBLEDGER_DB": "postgresql://nobody@127.0.0.1:1/none"}


async def verify_bundle(folder: Path, name: str, bundle: dict, key: str) -> tuple[int, str]:
    (folder / f"{name}.json").write_text(json.dumps(bundle))
    (folder / f"{name}.pub").write_text(key + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBLEDGER_", "DATABASE_", "PG"))} | NOWHERE
    proc = await asyncio.create_subprocess_exec(
        JOBLEDGER, "audit", "verify-bundle", f"{name}.json", "--key", f"{name}.pub",
        cwd=folder, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    return proc.returncode, out.decode()


async def test_a_bundle_verifies_in_a_separate_process_with_only_the_public_key(serve, audit_settings, signer, tmp_path):
    client = await serve(audit_settings)
    await a_finished_job(client)
    job_id = await a_finished_job(client)
    await a_finished_job(client)
    bundle = await ok(await client.get(f"/jobs/{job_id}/bundle"))

    edited = json.loads(json.dumps(bundle))
    entry = edited["events"][3]  # JobCompleted: the result is forged in the bytes and in what people read
    entry["canonical"] = base64.b64encode(base64.b64decode(entry["canonical"]).replace(b'"ok"', b'"FORGED"')).decode()
    entry["event"]["data"]["result"] = "FORGED"
    wrong_proof = json.loads(json.dumps(bundle))
    wrong_proof["events"][1]["inclusion_proof"][0] = base64.b64encode(b"\x00" * 32).decode()
    stranger = type(signer).generate("test.jobledger/log")  # the log's name, another key

    runs = await asyncio.gather(
        verify_bundle(tmp_path, "good", bundle, signer.verifier_key()),
        verify_bundle(tmp_path, "edited", edited, signer.verifier_key()),
        verify_bundle(tmp_path, "wrong-key", bundle, stranger.verifier_key()),
        verify_bundle(tmp_path, "wrong-proof", wrong_proof, signer.verifier_key()),
    )
    (good, good_out), *failed = runs
    assert good == 0, good_out
    assert f"ok: job {job_id}: 4 events (versions 1..4) are in the log test.jobledger/log" in good_out
    for (code, out), why in zip(failed, (
        "event 4 (leaf ", "the note is not signed by the key test.jobledger/log", "event 2 (leaf ",
    ), strict=True):
        assert code == 1 and out.startswith("FAILED: ") and why in out, out
    assert "does not reach the root" in failed[0][1] and "does not reach the root" in failed[2][1]
