"""Signing checkpoints: Ed25519 keys in the Go note package's text encodings, and C2SP signed notes.

Signer key:   PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 ‖ 32-byte seed)>
Verifier key: <name>+<8 hex key id>+<base64(0x01 ‖ 32-byte public key)>
key id = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]

A note is its body, a blank line, and one line per signature: "— <name> <base64(key id ‖
signature)>", the signature covering the body through its last newline (docs/auditing.md). The
verifying side (jobledger.proof) is written apart from this module on purpose.
"""

import base64
import binascii
import hashlib
import socket
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

ALGORITHM_ED25519 = b"\x01"
SIGNATURE_DASH = "\u2014"  # EM DASH, then a space, starts a signature line


def default_origin() -> str:
    return f"jobledger/{socket.gethostname()}"


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALGORITHM_ED25519 + public_key).digest()[:4]


def check_name(name: str) -> str:
    """A key name as notes allow it: not empty, no '+', no white space."""
    if not name or "+" in name or any(c.isspace() for c in name):
        raise ValueError(f"key name {name!r}: must be non-empty, with no '+' and no white space")
    return name


@dataclass(frozen=True)
class Signer:
    """An Ed25519 signing key with its name."""

    name: str
    private_key: ed25519.Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> "Signer":
        return cls(check_name(name), ed25519.Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def signer_key(self) -> str:
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{_b64(ALGORITHM_ED25519 + seed)}"

    def verifier_key(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{_b64(ALGORITHM_ED25519 + self.public_key)}"

    def sign_note(self, body: str) -> str:
        """The signed note of `body` (text ending in a newline)."""
        if not body.endswith("\n"):
            raise ValueError("a note's body ends with a newline")
        signature = self.private_key.sign(body.encode())
        return f"{body}\n{SIGNATURE_DASH} {self.name} {_b64(self.key_id + signature)}\n"


def parse_signer_key(text: str) -> Signer:
    """The Signer of a signer key's text; ValueError saying what is wrong."""
    parts = text.strip().split("+", 4)  # the base64 key itself may hold a '+'
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise ValueError("a signer key reads PRIVATE+KEY+<name>+<key id>+<key>")
    name, hex_id, encoded = check_name(parts[2]), parts[3], parts[4]
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("the signer key's key is not base64") from None
    if len(raw) != 33 or raw[:1] != ALGORITHM_ED25519:
        raise ValueError("the signer key is not an Ed25519 key (0x01 and a 32-byte seed)")
    signer = Signer(name, ed25519.Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if signer.key_id.hex() != hex_id.lower():
        raise ValueError("the signer key's key id does not match its name and key")
    return signer


def checkpoint_body(origin: str, tree_size: int, root_hash: bytes) -> str:
    """A tlog-checkpoint body: origin, size, root; no extension lines."""
    return f"{origin}\n{tree_size}\n{_b64(root_hash)}\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
