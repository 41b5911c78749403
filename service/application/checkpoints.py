"""The log's Merkle tree, kept up with the log, its signed checkpoints and its proofs (docs/auditing.md).

The builder follows the settled log (`leaf_rows`: raw_all's order, the order followers read,
and each event's leaf hash as its append stored it, migration 0016) from the tree's last
position, after the appends commit and off their path: an append never waits for it. Each step
adds one page of leaves and the subtrees they complete in one transaction, if the tree is still
the size it read (on PostgreSQL under a lock held for that transaction only): several instances
share one tree and never write a leaf twice.

A checkpoint is issued when the tree grew, at most once per `interval`, and on demand. Before
signing, the root is recomputed from the stored subtrees and checked to extend the last
checkpoint with a consistency proof: a damaged tree is refused, never signed.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from jobledger.domain import errors
from jobledger.eventlog import merkle
from jobledger.eventlog.chain import RawEvent
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import Checkpoint, Leaf
from jobledger.application import signing

log = logging.getLogger("jobledger.checkpoints")

PAGE = 2000  # events hashed and written per step: a few milliseconds of hashing, off the event loop
SAFETY_POLL = 5.0  # seconds: the builder looks at the log at least this often, woken or not


def _hashed(events: Sequence[RawEvent], erased: dict[int, tuple[bytes, bytes]]) -> dict[int, bytes]:
    """Leaf hashes from the events' bytes, by position (events stored without one); for an event
    whose job's data was erased, the leaf hash the log kept of its bytes as they were."""
    return {e.position: erased[e.position][1] if e.position in erased else merkle.leaf_hash(merkle.canonical(e)) for e in events}


def _no_proof(field: str, reason: str) -> errors.ProofNotFound:
    """A proof the tree cannot give (yet): the query is well formed, the tree is not that far (404)."""
    return errors.ProofNotFound(f"{field}: {reason}", field=field, reason=reason)


class Checkpoints:
    """One instance's builder, signer and prover of the shared tree (`signer` None: it proves
    against the checkpoints stored, and issues none)."""

    def __init__(
        self, stores: Stores, signer: signing.Signer | None, origin: str, *, interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.stores = stores
        self.signer = signer
        self.origin = origin
        self.interval = interval
        self.clock = clock
        self._issuing = asyncio.Lock()  # one checkpoint at a time in this instance
        self._wake = asyncio.Event()
        self._known_size = 0  # a size the tree has reached (it never shrinks unless its tables are edited)

    def wake(self, _written=None) -> None:
        """A log listener: the log may have moved."""
        self._wake.set()

    async def build(self) -> int:
        """Add the settled events the tree lacks; the number of leaves this instance added. It
        stops at the first short page: under a steady load it never chases the log's head."""
        added = 0
        while True:
            found, written = await self._step()
            added += written
            if found < PAGE and (written or not found):  # caught up (0 written: another instance moved it)
                return added

    async def _step(self) -> tuple[int, int]:
        """One page of leaves: how many events it found, and how many leaves this instance wrote
        (none if another instance moved the tree first)."""
        size, last_position = await self.stores.tree.tree_state()
        rows = await self.stores.log.leaf_rows(after=last_position, limit=PAGE)
        if not rows:
            return 0, 0
        if any(leaf is None for _, _, leaf in rows):  # stored before migration 0016, or imported
            events = await self.stores.log.raw_all(after=last_position, limit=len(rows))
            erased = await self.stores.erasure.erased(events[0].position, events[-1].position) if events else {}
            hashed = await asyncio.to_thread(_hashed, events, erased)
            rows = [(position, job, hashed[position] if leaf is None else leaf) for position, job, leaf in rows]
        leaves = [Leaf(i, position, job, leaf) for i, (position, job, leaf) in enumerate(rows, size)]
        peaks = await self._nodes(merkle.peaks(size))
        made = await asyncio.to_thread(merkle.extend, size, [peaks[k] for k in merkle.peaks(size)], [r[2] for r in rows])
        nodes = [node for node in made if node[0] >= merkle.STORED_LEVEL]  # the leaves hold the levels below
        return len(rows), len(leaves) if await self.stores.tree.extend_tree(size, leaves, nodes) else 0

    async def _nodes(self, keys) -> dict[merkle.Key, bytes]:
        """The hashes of these complete subtrees: stored, or hashed again from their leaves."""
        keys = set(keys)
        stored = [k for k in keys if k[0] >= merkle.STORED_LEVEL]
        found = await self.stores.tree.tree_nodes(stored) if stored else {}
        found.update(await self._hashed_again([k for k in keys if k[0] < merkle.STORED_LEVEL]))
        if len(found) != len(keys):
            missing = sorted(keys - found.keys())[:5]
            raise errors.TreeInconsistent(f"the stored tree lacks nodes {missing}", missing=[list(k) for k in missing])
        return found

    async def _hashed_again(self, keys: list[merkle.Key]) -> dict[merkle.Key, bytes]:
        """Subtrees below the stored level, from their leaves: one read per block of 2**STORED_LEVEL leaves."""
        blocks: dict[int, list[merkle.Key]] = {}
        for level, index in keys:
            blocks.setdefault((index << level) >> merkle.STORED_LEVEL, []).append((level, index))
        found = {}
        for block, wanted in blocks.items():
            start = block << merkle.STORED_LEVEL
            leaves = await self.stores.tree.leaf_hashes(start, 1 << merkle.STORED_LEVEL)
            for level, index in wanted:
                first = (index << level) - start
                span = leaves[first : first + (1 << level)]
                if len(span) == 1 << level:  # else a leaf is missing: the caller says the tree lacks it
                    found[(level, index)] = merkle.root(span)
        return found

    async def size(self) -> int:
        return (await self.stores.tree.tree_state())[0]

    async def root(self, size: int) -> bytes:
        """The root of the tree's first `size` leaves, from the stored subtrees."""
        nodes = await self._nodes(merkle.peaks(size))
        return merkle.fold([nodes[k] for k in merkle.peaks(size)])

    async def latest(self) -> Checkpoint:
        """The latest checkpoint; the first one is issued if there is none yet."""
        return await self.stores.tree.latest_checkpoint() or await self.issue()

    async def issue(self) -> Checkpoint:
        """Sign the tree as it is now, if it grew since the latest checkpoint; the latest checkpoint."""
        async with self._issuing:
            size = await self.size()
            latest = await self.stores.tree.latest_checkpoint()
            if latest is not None and (latest.tree_size >= size or self.signer is None):
                return latest
            if self.signer is None:
                raise errors.NoCheckpoint()
            root = await self.root(size)
            if latest is not None:
                await self._check_extends(latest, size, root)
            note = self.signer.sign_note(signing.checkpoint_body(self.origin, size, root))
            stored = await self.stores.tree.put_checkpoint(Checkpoint(size, root, note, self.clock()))
            if stored.root_hash != root:  # cannot happen unless the tables were edited: say so loudly
                raise errors.TreeInconsistent(f"a checkpoint of size {size} with another root is stored", tree_size=size)
            return stored

    async def _check_extends(self, latest: Checkpoint, size: int, root: bytes) -> None:
        proof = await self.consistency(latest.tree_size, size)
        if not merkle.verify_consistency(latest.tree_size, size, latest.root_hash, root, proof):
            raise errors.TreeInconsistent(
                f"the stored tree of {size} leaves does not extend the checkpoint of {latest.tree_size}",
                checkpoint=latest.tree_size, tree_size=size,
            )

    async def catch_up(self) -> Checkpoint:
        """Build, then issue (on demand): the latest checkpoint covers every event settled by now."""
        await self.build()
        return await self.issue()

    async def _checked_size(self, tree_size: int, field: str) -> int:
        if tree_size <= self._known_size:  # the tree only grows: no read for a size it had already
            return tree_size
        self._known_size = size = await self.size()
        if not 0 <= tree_size <= size:
            raise _no_proof(field, f"the log's tree has {size} leaves")
        return tree_size

    async def inclusion(self, leaf_index: int, tree_size: int) -> tuple[bytes, list[bytes]]:
        """The hash of leaf `leaf_index` and its audit path in the tree of `tree_size` leaves,
        from the leaf up: one read of the stored nodes."""
        await self._checked_size(tree_size, "tree_size")
        if not 0 <= leaf_index < tree_size:
            raise _no_proof("leaf_index", f"the tree of size {tree_size} has no such leaf")
        ranges = merkle.inclusion_ranges(leaf_index, tree_size)
        nodes = await self._nodes(merkle.keys_of(ranges) | {(0, leaf_index)})
        return nodes[(0, leaf_index)], merkle.hashes_of(ranges, nodes)

    async def inclusions(self, leaf_indexes: Sequence[int], tree_size: int) -> list[list[bytes]]:
        """inclusion() of several leaves of one tree, from one read of the nodes they need."""
        paths = [merkle.inclusion_ranges(i, tree_size) for i in leaf_indexes]
        nodes = await self._nodes(merkle.keys_of(r for path in paths for r in path))
        return [merkle.hashes_of(path, nodes) for path in paths]

    async def consistency(self, first: int, second: int) -> list[bytes]:
        """The proof that the tree of `second` leaves extends the tree of `first` (RFC 9162 2.1.4)."""
        await self._checked_size(second, "second")
        if not 0 <= first <= second:
            raise _no_proof("first", f"a tree of size {second} does not extend a larger one")
        ranges = merkle.consistency_ranges(first, second)
        return merkle.hashes_of(ranges, await self._nodes(merkle.keys_of(ranges)))

    async def run(self) -> None:
        """Keep the tree up with the log and issue a checkpoint when it grew, at most once per interval."""
        await self.stores.log.listen(self.wake)
        while True:
            try:
                await self.catch_up()
            except errors.StoreUnavailable as exc:
                log.warning("the log's tree was not brought up to date: %s", exc)
            except errors.TreeInconsistent as exc:
                log.error("no checkpoint signed: %s", exc)
            except Exception:
                log.exception("the log's tree was not brought up to date")
            await asyncio.sleep(self.interval)
            try:
                async with asyncio.timeout(SAFETY_POLL):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
