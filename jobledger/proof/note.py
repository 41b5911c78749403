"""Verifier keys, signed notes (c2sp.org/signed-note) and checkpoints (c2sp.org/tlog-checkpoint).

A verifier key is one line, `<name>+<8 hex key id>+<base64(0x01 || 32-byte Ed25519 public key)>`
(the Go note package's encoding); the key id is the first 4 bytes of
SHA-256(name || 0x0A || 0x01 || public key). A note is its text, a blank line, and one line
per signature: `— <key name> <base64(4-byte key id || 64-byte signature)>`.
"""

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jobledger.proof.errors import ProofError

ED25519 = b"\x01"  #: the signature type byte of Ed25519 note signatures
DASH = "\u2014 "  #: em dash and space: the start of a signature line
MAX_SIGNATURES = 100  # the spec asks verifiers to accept at least 16, and to bound the note


def b64decode(text: str, what: str) -> bytes:
    """Strict standard base64 (padding required; no stray characters)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProofError(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode() != text:
        raise ProofError(f"{what} is not canonical base64")
    return raw


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte id of an Ed25519 note key."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A trusted log key: its name, id and Ed25519 public key."""

    name: str
    id: bytes
    public_key: bytes

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def parse_verifier_key(text: str) -> VerifierKey:
    """Read a verifier key line; raise ProofError if it is malformed or its id does not match."""
    parts = text.strip().split("+", 2)  # base64 may hold "+" too
    if len(parts) != 3 or not parts[0] or len(parts[1]) != 8 or parts[1] != parts[1].lower():
        raise ProofError("a verifier key is <name>+<8 hex key id>+<base64 key>")
    name, hex_id, encoded = parts
    try:
        claimed = bytes.fromhex(hex_id)
    except ValueError:
        raise ProofError("the verifier key's id is not hexadecimal") from None
    if any(c.isspace() for c in name):
        raise ProofError("a key name holds no spaces")
    raw = b64decode(encoded, "the verifier key")
    if len(raw) != 33 or raw[:1] != ED25519:
        raise ProofError("the verifier key is not an Ed25519 key (type 0x01, 32 bytes)")
    if key_id(name, raw[1:]) != claimed:
        raise ProofError("the verifier key's id does not match its name and public key")
    return VerifierKey(name, claimed, raw[1:])


@dataclass(frozen=True)
class Signature:
    name: str
    id: bytes
    signature: bytes


def split_note(note: str) -> tuple[str, list[Signature]]:
    """A signed note's text (through its final newline) and its signature lines."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise ProofError("a signed note holds no control characters but newlines")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise ProofError("a signed note is its text, a blank line, then its signature lines")
    text, lines = note[: cut + 1], note[cut + 2 : -1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise ProofError(f"a signed note has at most {MAX_SIGNATURES} signatures")
    return text, [_signature(line) for line in lines]


def _signature(line: str) -> Signature:
    parts = line.removeprefix(DASH).split(" ")
    if not line.startswith(DASH) or len(parts) != 2 or not parts[0] or "+" in parts[0]:
        raise ProofError(f"malformed signature line: {line[:80]!r}")
    raw = b64decode(parts[1], "a signature")
    if len(raw) < 5:
        raise ProofError("a signature is a 4-byte key id and the signature itself")
    return Signature(parts[0], raw[:4], raw[4:])


def open_note(note: str, key: VerifierKey) -> str:
    """The text of `note` once a signature of `key` verifies; raise ProofError otherwise.

    As the signed-note spec says: signatures of other keys are ignored, a signature of our key
    that fails rejects the note, and a note without one of ours is rejected."""
    text, signatures = split_note(note)
    ours = [s for s in signatures if s.name == key.name and s.id == key.id]
    if not ours:
        raise ProofError(f"the note is not signed by the key {key.name}+{key.id.hex()}")
    for s in ours:
        if not key.verify(text.encode(), s.signature):
            raise ProofError(f"the note's signature by {key.name} does not verify: the note was altered or forged")
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A verified tree head: the log's origin, its size and its root."""

    origin: str
    size: int
    root: bytes
    note: str  # the signed note it came from


def parse_checkpoint(text: str, note: str = "") -> Checkpoint:
    """Read a checkpoint body `<origin>\\n<size>\\n<base64 root>\\n` (no extension lines)."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "" or not lines[0]:
        raise ProofError("a checkpoint is three lines: origin, tree size, root hash")
    origin, size, encoded = lines[:3]
    if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
        raise ProofError("the checkpoint's tree size is not a decimal number")
    root = b64decode(encoded, "the checkpoint's root hash")
    if len(root) != 32:
        raise ProofError("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(origin, int(size), root, note)


def verify_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint of a signed note, once its signature by `key` verifies."""
    return parse_checkpoint(open_note(note, key), note)
