"""The log's Merkle tree (RFC 6962 / RFC 9162 section 2.1), over stored complete subtrees.

A node is named (level, index): the complete subtree of the 2**level leaves from
index * 2**level on; level 0 is the leaves. Every subtree the RFC's recursion names,
D[a:b], is either complete (one node) or the right edge of a tree, whose hash folds the
complete subtrees that cover it, largest first. So a root or a proof at any size is a few
nodes (about 2·log2(n)) and some hashing: those of 2**STORED_LEVEL leaves and up are stored,
the smaller ones hashed again from their leaves (application.checkpoints).

This is the server's own implementation; `jobledger.proof` (the offline verifier) is written
apart from it on purpose, so that a bug in one cannot hide in the other.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from uuid import UUID

from jobledger.eventlog.chain import RawEvent, canonical_bytes, canonical_time
from jobledger.eventlog.records import Leaf

Key = tuple[int, int]  #: (level, index) of a complete subtree
EMPTY_ROOT = hashlib.sha256(b"").digest()


#: Subtrees of 2**STORED_LEVEL leaves and up are stored (merkle_nodes); a smaller one is hashed
#: again from its leaves (one read of at most 64 leaf hashes) when a proof or a root needs it.
#: The tree then costs each event one leaf row, and a node row per 32 events, not two.
STORED_LEVEL = 6


#: merkle_leaves holds the leaves in blocks of 2**STORED_LEVEL (migration 0016), one row a block:
#: its index, its first leaf's position, and each leaf's position (8 bytes, big-endian), job id
#: (16 bytes) and hash (32 bytes), concatenated in leaf order. A step of the builder writes a row
#: per 64 leaves, and rewrites the last block while it is not full.
BLOCK = 1 << STORED_LEVEL


def pack_leaves(leaves: Sequence[Leaf]) -> tuple[bytes, bytes, bytes]:
    """The positions, job ids and hashes of consecutive leaves, as a block row stores them."""
    return (
        b"".join(leaf.position.to_bytes(8, "big", signed=True) for leaf in leaves),
        b"".join(leaf.job_id.bytes for leaf in leaves),
        b"".join(leaf.hash for leaf in leaves),
    )


def unpack_leaves(block: int, positions: bytes, job_ids: bytes, hashes: bytes) -> list[Leaf]:
    """The leaves of a block row, in order."""
    start = block * BLOCK
    return [
        Leaf(start + i, int.from_bytes(positions[8 * i : 8 * i + 8], "big", signed=True),
             UUID(bytes=bytes(job_ids[16 * i : 16 * i + 16])), bytes(hashes[32 * i : 32 * i + 32]))
        for i in range(len(hashes) // 32)
    ]  # fmt: skip


def block_rows(size: int, leaves: Sequence[Leaf], last: Sequence[Leaf]) -> list[tuple[int, int, bytes, bytes, bytes]]:
    """The block rows (block, first position, positions, job ids, hashes) that hold `leaves`
    appended to a tree of `size` leaves, whose last, unfilled block holds `last`: that block's
    row first (written anew), then a row per block begun."""
    every, start = [*last, *leaves], size - len(last)
    return [
        (b // BLOCK, every[b - start].position, *pack_leaves(every[b - start : b - start + BLOCK]))
        for b in range(start, size + len(leaves), BLOCK)
    ]


def state_of(row: Sequence | None) -> tuple[int, int]:
    """(size, last position) of the tree whose last block row is `row` (block, first position,
    positions, job ids, hashes; None: the empty tree)."""
    if row is None:
        return 0, 0
    return row[0] * BLOCK + len(row[4]) // 32, int.from_bytes(row[2][-8:], "big", signed=True)


def hashes_in(start: int, limit: int, rows: Iterable[Sequence]) -> list[bytes]:
    """Up to `limit` leaf hashes from leaf `start` on, from block rows (block, hashes) read in
    order from start's block. A block missing before the last one read gives its leaves b""
    (equal to no hash), so the leaves after it keep their indexes."""
    found: list[bytes] = []
    expected = start // BLOCK
    for block, hashes in rows:
        found += [b""] * (BLOCK * (block - expected))
        found += [bytes(hashes[i : i + 32]) for i in range(0, len(hashes), 32)]
        expected = block + 1
    return found[start % BLOCK : start % BLOCK + limit]


def blocks_for(start: int, limit: int) -> tuple[int, int]:
    """The first block and the number of blocks that hold leaves [start, start + limit)."""
    return start // BLOCK, (start % BLOCK + limit + BLOCK - 1) // BLOCK


def canonical(e: RawEvent) -> bytes:
    """The event's canonical bytes (docs/auditing.md): what its leaf hashes, and what chain.digest_text hashes."""
    at = canonical_time(e.recorded_at)
    return canonical_bytes(str(e.stream_id), e.version, e.type, e.schema_version, at, e.data, e.metadata)


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_below(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where the RFC splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def cover(start: int, end: int) -> list[Key]:
    """The complete subtrees that make up leaves [start, end), left to right."""
    keys = []
    while start < end:
        aligned = (start & -start).bit_length() - 1 if start else 64
        level = min(aligned, (end - start).bit_length() - 1)
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def peaks(size: int) -> list[Key]:
    """The complete subtrees of a tree of `size` leaves: its root folds them."""
    return cover(0, size)


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a subtree from the hashes of the complete subtrees covering it (cover's order)."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, straight from the RFC's definition (a reference for tests and checks)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _largest_power_below(n)
    return node_hash(root(leaf_hashes[:k]), root(leaf_hashes[k:]))


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(index, D[size]) of RFC 9162 2.1.3.1, as the leaf ranges whose hashes it lists, from the leaf up."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    ranges, lo, hi = [], 0, size
    while hi - lo > 1:
        k = _largest_power_below(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    return ranges[::-1]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """PROOF(first, D[second]) of RFC 9162 2.1.4.1, as leaf ranges; empty when first is 0 or second."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves")
    if first in (0, second):
        return []
    ranges, lo, hi, whole = [], 0, second, True  # whole: the subtree is still the first tree's prefix from 0
    while first != hi:
        k = _largest_power_below(hi - lo)
        if first <= lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, whole = lo + k, False
    if not whole:
        ranges.append((lo, hi))
    return ranges[::-1]


def keys_of(ranges: Iterable[tuple[int, int]]) -> set[Key]:
    """Every stored node the hashes of `ranges` need."""
    return {key for start, end in ranges for key in cover(start, end)}


def hashes_of(ranges: Iterable[tuple[int, int]], nodes: Mapping[Key, bytes]) -> list[bytes]:
    """The hash of each range, from the stored nodes (keys_of's)."""
    return [fold([nodes[key] for key in cover(start, end)]) for start, end in ranges]


def extend(size: int, peak_hashes: Sequence[bytes], new_leaves: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
    """The nodes (level, index, hash) that appending `new_leaves` to a tree of `size` leaves
    completes, the new leaves included; `peak_hashes` are the hashes of peaks(size)."""
    stack = [(level, index, h) for (level, index), h in zip(peaks(size), peak_hashes, strict=True)]
    made = []
    for i, h in enumerate(new_leaves, size):
        stack.append((0, i, h))
        made.append((0, i, h))
        while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
            level, _, right = stack.pop()
            _, index, left = stack.pop()
            parent = (level + 1, index >> 1, node_hash(left, right))
            stack.append(parent)
            made.append(parent)
    return made


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 2.1.3.2: does `proof` take `leaf` at `index` to `root_hash` of a tree of `size` leaves?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: is the tree of `second` leaves (`second_root`) an extension of the tree of
    `first` leaves (`first_root`)? The empty tree is extended by every tree."""
    if not 0 <= first <= second:
        return False
    if first == 0 or first == second:
        return not proof and (first == 0 or first_root == second_root)
    path = [first_root, *proof] if first & (first - 1) == 0 else list(proof)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0
