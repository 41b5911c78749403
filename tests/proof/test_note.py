"""Verifier keys, signed notes and checkpoints, against the Go note package's published example."""

import base64

import pytest

from jobledger.proof import ProofError, merkle, note, witness
from tests.proof.reference import Signer

# golang.org/x/mod/sumdb/note: the PeterNeumann key and its signed note
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIG = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
GO_NOTE = GO_TEXT + "\n" + GO_SIG


def test_the_go_reference_note_verifies():
    key = note.parse_verifier_key(GO_VKEY)
    assert (key.name, key.id.hex()) == ("PeterNeumann", "c74f20a3")
    assert note.open_note(GO_NOTE, key) == GO_TEXT


def test_every_mangled_verifier_key_is_refused():
    """Like the Go package's test: every proper substring and every one-byte change of the key fails."""
    b = GO_VKEY.encode()
    mangled = {b[i:j] for i in range(len(b)) for j in range(i + 1, len(b) + 1)} - {b}
    mangled |= {b[:i] + bytes([b[i] + 1]) + b[i + 1 :] for i in range(len(b))}
    for k in mangled:
        with pytest.raises(ProofError):
            note.parse_verifier_key(k.decode("latin-1"))
    with pytest.raises(ProofError):
        note.parse_verifier_key(GO_VKEY.replace("c74f20a3", "C74F20A3"))


@pytest.mark.parametrize("forged", [
    GO_NOTE.replace("answer", "Answer"),  # the text changed
    GO_NOTE.replace("x08go", "x08gp"),  # the signature changed
    GO_TEXT + "\n" + GO_SIG.replace("PeterNeumann", "PeterNeumann2"),  # only an unknown key's signature
    GO_TEXT + GO_SIG,  # no blank line
    GO_NOTE.replace("\n\n", "\n\n\x07"),  # a control character
    GO_TEXT,  # no signature at all
])
def test_altered_or_unsigned_notes_are_refused(forged):
    with pytest.raises(ProofError):
        note.open_note(forged, note.parse_verifier_key(GO_VKEY))


def test_other_keys_signatures_are_ignored_but_ours_must_verify():
    key = note.parse_verifier_key(GO_VKEY)
    other = Signer("witness.example/w1").sign(GO_TEXT)
    assert note.open_note(GO_NOTE + other.split("\n\n")[1], key) == GO_TEXT


def test_checkpoints_parse_and_verify():
    signer = Signer()
    root = merkle.root([merkle.leaf_hash(b"a")])
    signed = signer.checkpoint("jobledger/host", 1, root)
    cp = note.verify_checkpoint(signed, note.parse_verifier_key(signer.verifier_key))
    assert (cp.origin, cp.size, cp.root) == ("jobledger/host", 1, root)
    for body in ("o\n01\n" + base64.b64encode(root).decode() + "\n", "o\n1\nAAAA\n", "o\n1\n", "o\n1\n" + "x" * 44 + "\n"):
        with pytest.raises(ProofError):
            note.parse_checkpoint(body)


def test_a_key_of_another_name_or_id_does_not_verify():
    signer, stranger = Signer("a.example/log"), Signer("a.example/log", seed=b"\x07" * 32)
    signed = signer.checkpoint("o", 0, merkle.EMPTY_ROOT)
    with pytest.raises(ProofError, match="not signed by the key"):
        note.verify_checkpoint(signed, note.parse_verifier_key(stranger.verifier_key))


def checkpoint(size: int, root: bytes, origin: str = "o") -> note.Checkpoint:
    return note.Checkpoint(origin, size, root, "")


def test_the_witness_check_names_how_the_log_changed():
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(6)]
    old, new = checkpoint(4, merkle.root(leaves[:4])), checkpoint(6, merkle.root(leaves))
    with pytest.raises(ProofError, match="shrank from 6 to 4"):
        witness.check_growth(new, old, [])
    with pytest.raises(ProofError, match="same size 4"):
        witness.check_growth(old, checkpoint(4, merkle.root(leaves[1:5])), [])
    with pytest.raises(ProofError, match="origin changed"):
        witness.check_growth(old, checkpoint(6, new.root, "elsewhere"), [])
    witness.check_growth(checkpoint(0, merkle.EMPTY_ROOT), new, [])
    witness.check_growth(old, new, [merkle.root(leaves[4:6])])
    with pytest.raises(ProofError, match="does not extend the tree of 4"):
        witness.check_growth(checkpoint(4, merkle.root([leaves[1], *leaves[1:4]])), new, [merkle.root(leaves[4:6])])
