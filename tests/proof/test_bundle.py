"""A job's audit bundle, built here from the specs (tests/proof/reference.py), checked by jobledger.proof."""

import base64
import copy
import json

import pytest

from jobledger.proof import ProofError, bundle, note
from tests.proof.reference import Signer, mth, path

JOB = "6f1c2a3e-0000-4000-8000-000000000001"
OTHER = "6f1c2a3e-0000-4000-8000-000000000002"
AT = "2026-01-02T03:04:05.000006+00:00"


def event(job_id: str, version: int, data: dict, position: int) -> dict:
    return {
        "position": position, "job_id": job_id, "version": version, "type": "ProgressReported",
        "schema_version": 1, "data": data, "metadata": {"actor": "t"}, "recorded_at": AT,
    }


def canonical(e: dict) -> bytes:
    return bundle.canonical_bytes(
        e["job_id"], e["version"], e["type"], e["schema_version"], e["recorded_at"],
        json.dumps(e["data"], separators=(",", ":")), json.dumps(e["metadata"], separators=(",", ":")),
    )


def make_bundle(signer: Signer, origin: str = "jobledger/test") -> dict:
    """Three events of JOB among four of another tenant's job, positions with gaps."""
    log = [event(OTHER if i % 2 else JOB, i // 2 + 1, {"i": i}, 10 + 3 * i) for i in range(7)]
    leaves = [canonical(e) for e in log]
    b64 = lambda h: base64.b64encode(h).decode()  # noqa: E731
    return {
        "format": bundle.FORMAT, "origin": origin, "job_id": JOB, "tree_size": len(log),
        "checkpoint": signer.checkpoint(origin, len(log), mth(leaves)),
        "events": [
            {"leaf_index": i, "position": e["position"], "canonical": b64(leaves[i]), "event": e,
             "inclusion_proof": [b64(h) for h in path(i, leaves)]}
            for i, e in enumerate(log) if e["job_id"] == JOB
        ],
    }


def verify(b: dict, signer: Signer) -> bundle.Verified:
    return bundle.verify_bundle(b, note.parse_verifier_key(signer.verifier_key))


def test_a_bundle_verifies_with_the_logs_key():
    signer = Signer()
    result = verify(make_bundle(signer), signer)
    assert (result.job_id, result.events, result.checkpoint.size) == (JOB, 4, 7)


def edit_shown_data(b):
    b["events"][1]["event"]["data"] = {"i": 99}


def edit_canonical(b):
    """The forger edits the bytes and the event shown alike: only the proof can tell."""
    b["events"][1]["event"]["data"] = {"i": 9}
    b["events"][1]["canonical"] = base64.b64encode(base64.b64decode(b["events"][1]["canonical"]).replace(b'"i":2', b'"i":9')).decode()


def bool_for_int(b):
    b["events"][0]["event"]["data"] = {"i": False}  # the proven bytes say 0


def drop_middle(b):
    del b["events"][1]


def wrong_proof(b):
    b["events"][2]["inclusion_proof"][0] = b["events"][2]["inclusion_proof"][1]


def move_leaf(b):
    b["events"][0]["leaf_index"] = 1


def other_tree_size(b):
    b["tree_size"] = 8


def other_jobs_event(b):
    b["job_id"] = OTHER


def no_events(b):
    b["events"] = []


@pytest.mark.parametrize("tamper, message", [
    (edit_shown_data, "event 2 .*data is not what the proven bytes say"),
    (edit_canonical, "event 2 .*does not reach the root"),
    (bool_for_int, "event 1 .*data is not what"),
    (drop_middle, "expected 2"),
    (wrong_proof, "event 3 .*does not reach the root"),
    (move_leaf, "event 1 .*does not reach the root"),
    (other_tree_size, "tree size is not its checkpoint's"),
    (other_jobs_event, "belongs to job"),
    (no_events, "no events"),
])
def test_a_tampered_bundle_fails_naming_what(tamper, message):
    signer = Signer()
    b = make_bundle(signer)
    tamper(b)
    with pytest.raises(ProofError, match=message):
        verify(b, signer)


def test_a_bundle_signed_by_another_key_fails():
    signer, forger = Signer("log.example/a"), Signer("log.example/a", seed=b"\x01" * 32)
    with pytest.raises(ProofError, match="not signed by the key"):
        verify(make_bundle(forger), signer)
    b = make_bundle(signer)
    b["checkpoint"] = b["checkpoint"].replace("\n7\n", "\n8\n")
    with pytest.raises(ProofError, match="does not verify"):
        verify(b, signer)


def test_the_bundle_is_not_altered_by_verification():
    signer = Signer()
    b = make_bundle(signer)
    before = copy.deepcopy(b)
    verify(b, signer)
    assert b == before
