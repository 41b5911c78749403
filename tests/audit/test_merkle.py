"""The server's tree (jobledger.eventlog.merkle) and signer (jobledger.application.signing) against
published vectors, and against the offline verifier (jobledger.proof), written apart from them.

Vectors: RFC 6962 roots and proofs of transparency-dev/merkle (testonly/constants.go,
testdata/{inclusion,consistency}/*/happy-path.json) and the signed note of the Go
golang.org/x/mod/sumdb/note documentation. Pure: no database.
"""

import base64
import hashlib
import random
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from jobledger.application import signing
from jobledger.eventlog import chain, merkle
from jobledger.eventlog.records import Leaf
from jobledger.proof import merkle as offline
from jobledger.proof import note
from tests.proof.rfc6962 import LEAF_INPUTS, ROOTS

# (leaf index, tree size, proof) and (first, second, proof): the published happy paths, base64
INCLUSION = [
    (0, 1, []),
    (0, 8, ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="]),
    (5, 8, ["vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="]),
    (2, 3, ["+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="]),
    (1, 5, ["bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=", "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="]),
    (6, 8, ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="]),
    (2, 5, ["Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=", "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="]),
    (6, 7, ["DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=", "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="]),
]
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIGNATURE = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

LEAVES = [merkle.leaf_hash(data) for data in LEAF_INPUTS]


def _stored(leaves: list[bytes], *, split: int = 0) -> dict[merkle.Key, bytes]:
    """The nodes the builder stores for `leaves`, appended in two steps (at `split`), as it does page by page."""
    nodes = {(level, index): h for level, index, h in merkle.extend(0, [], leaves[:split])}
    peaks = [nodes[key] for key in merkle.peaks(split)]
    nodes.update({(level, index): h for level, index, h in merkle.extend(split, peaks, leaves[split:])})
    return nodes


def _b64(hashes: list[str]) -> list[bytes]:
    return [base64.b64decode(h) for h in hashes]


@pytest.mark.parametrize("split", [0, 1, 3, 5, 8])
def test_roots_of_every_size_are_rfc_6962s(split):
    nodes = _stored(LEAVES, split=split)
    for size, expected in enumerate(ROOTS):
        assert merkle.root(LEAVES[:size]) == expected
        assert merkle.fold([nodes[key] for key in merkle.peaks(size)]) == expected, size
    assert merkle.EMPTY_ROOT == hashlib.sha256(b"").digest()


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_are_the_published_ones(index, size, proof):
    made = merkle.hashes_of(merkle.inclusion_ranges(index, size), _stored(LEAVES))
    assert made == _b64(proof)
    assert merkle.verify_inclusion(index, size, LEAVES[index], made, ROOTS[size])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_are_the_published_ones(first, second, proof):
    made = merkle.hashes_of(merkle.consistency_ranges(first, second), _stored(LEAVES))
    assert made == _b64(proof)
    assert merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], made)


def test_every_proof_of_a_larger_tree_verifies_here_and_in_the_offline_verifier():
    """Every inclusion and consistency proof up to 40 leaves, each checked by both
    implementations; a proof of the wrong leaf, or to a root of another size, is refused."""
    rng = random.Random(7)
    leaves = [merkle.leaf_hash(rng.randbytes(rng.randrange(40))) for _ in range(40)]
    nodes = _stored(leaves, split=23)
    for size in range(1, len(leaves) + 1):
        root = merkle.fold([nodes[key] for key in merkle.peaks(size)])
        assert root == offline.root(leaves[:size]) == merkle.root(leaves[:size])
        for index in range(size):
            proof = merkle.hashes_of(merkle.inclusion_ranges(index, size), nodes)
            assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
            offline.verify_inclusion(leaves[index], index, size, proof, root)
            assert not merkle.verify_inclusion(index, size, bytes(32), proof, root)
        for first in range(1, size + 1):
            proof = merkle.hashes_of(merkle.consistency_ranges(first, size), nodes)
            first_root = merkle.root(leaves[:first])
            assert merkle.verify_consistency(first, size, first_root, root, proof)
            offline.verify_consistency(first, size, proof, first_root, root)
            if first < size:
                assert not merkle.verify_consistency(first, size, merkle.root(leaves[1 : first + 1]), root, proof)


def test_an_events_leaf_covers_the_bytes_its_chain_digest_covers():
    """The canonical bytes are the text chain.digest_text hashes: one definition of an event's bytes."""
    e = chain.RawEvent(
        position=7, stream_id=UUID("0b9f3a5e-4c1d-4e2f-8a6b-1c2d3e4f5a6b"), version=2, type="ProgressReported",
        schema_version=1, data='{"percent":50}', metadata='{"actor":"api"}',
        recorded_at=datetime(2026, 12, 8, 9, 30, 1, 5, tzinfo=UTC), hash="",
    )
    canonical = merkle.canonical(e)
    assert canonical == (
        b'0b9f3a5e-4c1d-4e2f-8a6b-1c2d3e4f5a6b\n2\nProgressReported\n1\n2026-12-08T09:30:01.000005+00:00\n'
        b'{"percent":50}\n{"actor":"api"}'
    )
    assert hashlib.sha256(canonical).digest() == chain.digest(
        e.stream_id, e.version, e.type, e.schema_version, e.recorded_at, e.data, e.metadata
    )
    assert merkle.leaf_hash(canonical) == hashlib.sha256(b"\x00" + canonical).digest()


def test_notes_are_signed_as_the_go_note_package_signs_them():
    signer = signing.parse_signer_key(GO_SIGNER_KEY)
    assert signer.signer_key() == GO_SIGNER_KEY
    assert signer.verifier_key() == GO_VERIFIER_KEY
    assert signer.sign_note(GO_TEXT) == GO_TEXT + "\n" + GO_SIGNATURE


def test_a_checkpoint_verifies_offline_with_the_verifier_key_only():
    signer = signing.Signer.generate("example.com/log")
    text = signer.sign_note(signing.checkpoint_body("example.com/log", 8, ROOTS[8]))
    assert text.startswith(f"example.com/log\n8\n{base64.b64encode(ROOTS[8]).decode()}\n\n— example.com/log ")
    checkpoint = note.verify_checkpoint(text, note.parse_verifier_key(signer.verifier_key()))
    assert (checkpoint.origin, checkpoint.size) == ("example.com/log", 8)
    other = signing.Signer.generate("example.com/log")
    with pytest.raises(ValueError):
        note.verify_checkpoint(text, note.parse_verifier_key(other.verifier_key()))


@pytest.mark.parametrize("text", [
    "",
    "PRIVATE+KEY+name+00000000",
    "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # another key id
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AoEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # another algorithm
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKD",  # short
    "PRIVATE+KEY+Peter Neumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",  # a space in the name
    GO_VERIFIER_KEY,  # a public key is no signing key
])
def test_a_malformed_signer_key_is_refused_saying_why(text):
    with pytest.raises(ValueError, match="."):
        signing.parse_signer_key(text)


def test_leaf_blocks_round_trip_and_a_missing_block_keeps_the_leaves_after_it_in_place():
    """merkle_leaves' rows (migration 0016): a step's leaves fill the last block, then begin new
    ones; read back, leaf hashes keep their indexes even where a block row is gone."""
    job = uuid4()
    leaves = [Leaf(i, 3 * i + 1, job, merkle.leaf_hash(b"%d" % i)) for i in range(200)]
    first = merkle.block_rows(0, leaves[:70], [])
    assert [(r[0], r[1]) for r in first] == [(0, 1), (1, 193)]
    then = merkle.block_rows(70, leaves[70:], merkle.unpack_leaves(first[1][0], *first[1][2:]))
    assert [r[0] for r in then] == [1, 2, 3]  # block 1 written anew, full
    rows = [first[0], *then]
    assert [x for r in rows for x in merkle.unpack_leaves(r[0], *r[2:])] == leaves
    assert merkle.state_of(rows[-1]) == (200, leaves[-1].position)
    hashes = [(r[0], r[4]) for r in rows]
    assert merkle.hashes_in(60, 100, hashes) == [x.hash for x in leaves[60:160]]
    gap = merkle.hashes_in(60, 100, [hashes[0], hashes[2]])
    assert gap[:4] == [x.hash for x in leaves[60:64]] and gap[4:68] == [b""] * 64 and gap[68:] == [x.hash for x in leaves[128:160]]
