"""RFC 6962 / RFC 9162 Merkle trees: hashing, roots, and the checks of inclusion and consistency proofs.

Written from RFC 9162 section 2.1 alone (not from the server's tree code), so that a mistake in
one cannot hide in the other. Hashes are 32-byte `bytes`; sizes and indexes are leaf counts.
"""

import hashlib

from jobledger.proof.errors import ProofError

EMPTY_ROOT = hashlib.sha256(b"").digest()  #: the root of the tree of no leaves (RFC 9162 2.1.1)


def leaf_hash(leaf: bytes) -> bytes:
    """MTH of one entry: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class Builder:
    """The root of a growing list of leaf hashes, one `add` at a time, in O(log n) memory.

    `_peaks` holds the roots of the perfect subtrees that make up the leaves so far, largest
    first (the binary digits of the count): the left-to-right decomposition of RFC 9162 2.1.1,
    where each split puts the largest power of two smaller than n on the left.
    """

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[bytes] = []

    def add(self, hashed_leaf: bytes) -> None:
        """Append one leaf hash (see `leaf_hash`)."""
        node, size = hashed_leaf, self.size
        while size & 1:  # each trailing 1 bit is a perfect subtree of the same height: merge
            node = node_hash(self._peaks.pop(), node)
            size >>= 1
        self._peaks.append(node)
        self.size += 1

    def root(self) -> bytes:
        """The root of the tree of the leaves added so far: the peaks folded from the right."""
        if not self._peaks:
            return EMPTY_ROOT
        node = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            node = node_hash(peak, node)
        return node


def root(leaf_hashes: list[bytes]) -> bytes:
    """MTH(D[n]) of a list of leaf hashes."""
    builder = Builder()
    for hashed in leaf_hashes:
        builder.add(hashed)
    return builder.root()


def _check_lengths(*hashes: bytes) -> None:
    if any(len(h) != 32 for h in hashes):
        raise ProofError("a hash is not 32 bytes")


def verify_inclusion(hashed_leaf: bytes, index: int, size: int, proof: list[bytes], expected_root: bytes) -> None:
    """Check that `hashed_leaf` is leaf `index` of the tree of `size` leaves whose root is
    `expected_root`, by RFC 9162 2.1.3.2; raise ProofError if not."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    _check_lengths(hashed_leaf, expected_root, *proof)
    fn, sn, node = index, size - 1, hashed_leaf
    for sibling in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:  # climb past the levels where this node has no right sibling
                fn, sn = fn >> 1, sn >> 1
        else:
            node = node_hash(node, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    if node != expected_root:
        raise ProofError(f"leaf {index} with this inclusion proof does not reach the root of the tree of {size} leaves")


def verify_consistency(first: int, second: int, proof: list[bytes], first_root: bytes, second_root: bytes) -> None:
    """Check that the tree of `first` leaves (root `first_root`) is a prefix of the tree of
    `second` leaves (root `second_root`), by RFC 9162 2.1.4.2; raise ProofError if not.

    From the empty tree nothing is proven (every tree extends it): callers handle size 0."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof goes from a tree of {first} leaves to one of {second}")
    if first == second:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError(f"two different roots for the same tree size {first}")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    _check_lengths(first_root, second_root, *proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than the tree is deep")
    if fr != first_root or sr != second_root:
        raise ProofError(
            f"the tree of {second} leaves does not extend the tree of {first} leaves: "
            "the log was rewritten, reordered or had entries deleted"
        )
