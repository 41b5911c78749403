"""The offline verifier's Merkle code against the published RFC 6962 test vectors
(transparency-dev/merkle: testonly/constants.go, rfc6962 tests and testdata/)."""

import base64
import json
from pathlib import Path

import pytest

from jobledger.proof import ProofError, merkle
from tests.proof.reference import mth, path, subproof
from tests.proof.rfc6962 import LEAF_INPUTS, ROOTS

VECTORS = Path(__file__).parent / "vectors"

LEAF_HASHES = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
)]


def b64(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def vectors(kind: str) -> list[dict]:
    return json.loads((VECTORS / f"{kind}.json").read_text())["vectors"]


def test_hashing_matches_rfc6962_vectors():
    assert merkle.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert merkle.leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert merkle.node_hash(b"N123", b"N456").hex() == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    assert [merkle.leaf_hash(d) for d in LEAF_INPUTS] == LEAF_HASHES


@pytest.mark.parametrize("size", range(9))
def test_roots_of_every_size_match_the_published_roots(size):
    assert merkle.root([merkle.leaf_hash(d) for d in LEAF_INPUTS[:size]]) == ROOTS[size]


@pytest.mark.parametrize("v", vectors("inclusion"), ids=lambda v: v["file"].removeprefix("testdata/inclusion/"))
def test_inclusion_vectors(v):
    check = lambda: merkle.verify_inclusion(  # noqa: E731
        b64(v["leafHash"]), v["leafIdx"], v["treeSize"], [b64(p) for p in v["proof"] or []], b64(v["root"])
    )
    if v["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("v", vectors("consistency"), ids=lambda v: v["file"].removeprefix("testdata/consistency/"))
def test_consistency_vectors(v):
    check = lambda: merkle.verify_consistency(  # noqa: E731
        v["size1"], v["size2"], [b64(p) for p in v["proof"] or []], b64(v["root1"]), b64(v["root2"])
    )
    if v["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


def test_the_vectors_hold_happy_paths_and_failures():
    for kind in ("inclusion", "consistency"):
        outcomes = [v["wantErr"] for v in vectors(kind)]
        assert outcomes.count(False) >= 6 and outcomes.count(True) >= 80


# Every (index, size) and (first, second) pair of a larger tree, against tests/proof/reference.py.

DATA = [f"event {i}".encode() for i in range(21)]


def test_every_inclusion_proof_of_a_21_leaf_tree_verifies_and_a_wrong_leaf_does_not():
    for n in range(1, len(DATA) + 1):
        for m in range(n):
            merkle.verify_inclusion(merkle.leaf_hash(DATA[m]), m, n, path(m, DATA[:n]), mth(DATA[:n]))
            with pytest.raises(ProofError):
                merkle.verify_inclusion(merkle.leaf_hash(b"forged"), m, n, path(m, DATA[:n]), mth(DATA[:n]))


def test_every_consistency_proof_of_a_21_leaf_tree_verifies_and_a_rewritten_prefix_does_not():
    for n in range(1, len(DATA) + 1):
        for m in range(1, n + 1):
            proof = subproof(m, DATA[:n], True)
            merkle.verify_consistency(m, n, proof, mth(DATA[:m]), mth(DATA[:n]))
            rewritten = [b"forged", *DATA[1:m]]
            with pytest.raises(ProofError):
                merkle.verify_consistency(m, n, proof, mth(rewritten), mth(DATA[:n]))


def test_builder_roots_match_the_recursive_definition_at_every_size():
    builder = merkle.Builder()
    for i, d in enumerate(DATA):
        assert builder.root() == mth(DATA[:i])
        builder.add(merkle.leaf_hash(d))
    assert builder.root() == mth(DATA)
