"""Test-side references written from the specs: RFC 6962 2.1's recursive definitions and a note signer.

They stand apart from both the server's tree code and jobledger.proof, so each can be checked
against something it does not share."""

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) of raw entries."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf(leaves[0])
    k = split(len(leaves))
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of entry m."""
    if len(leaves) <= 1:
        return []
    k = split(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], whole: bool = True) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], whole) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


class Signer:
    """An Ed25519 note signer (c2sp.org/signed-note), for tests."""

    def __init__(self, name: str = "test.example/log", seed: bytes | None = None) -> None:
        self.name = name
        self.private = Ed25519PrivateKey.from_private_bytes(seed or hashlib.sha256(name.encode()).digest())
        public = self.private.public_key().public_bytes_raw()
        self.id = hashlib.sha256(name.encode() + b"\n\x01" + public).digest()[:4]
        encoded = base64.b64encode(b"\x01" + public).decode()
        self.verifier_key = f"{name}+{self.id.hex()}+{encoded}"

    def sign(self, text: str) -> str:
        signature = base64.b64encode(self.id + self.private.sign(text.encode())).decode()
        return f"{text}\n\u2014 {self.name} {signature}\n"

    def checkpoint(self, origin: str, size: int, root: bytes) -> str:
        return self.sign(f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n")
