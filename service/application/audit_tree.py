"""The Merkle tree recomputed from the log, against the tree's stored leaves and every stored
checkpoint (used by `audit.py`).

It uses the offline verifier (`jobledger.proof`) for the hashing, never the server's tree code:
what the server built is checked by code it does not share.
"""

import base64
import hashlib

import orjson

from jobledger.domain import erasure
from jobledger.eventlog import chain
from jobledger.eventlog.chain import RawEvent
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import Checkpoint
from jobledger.proof import ProofError, bundle, merkle, note

PAGE = 1000


def canonical_of(e: RawEvent) -> bytes:
    """The event's canonical bytes (docs/auditing.md): what its leaf and its chain digest hash."""
    return bundle.canonical_bytes(
        str(e.stream_id), e.version, e.type, e.schema_version, chain.canonical_time(e.recorded_at), e.data, e.metadata
    )


def canonicals_of(page: list[RawEvent]) -> list[bytes]:
    """canonical_of of each event of a page; each job id and recorded time made text once (an
    append's events share the job and, mostly, the time)."""
    texts: dict = {}
    found = []
    for e in page:
        stream = texts.get(e.stream_id)
        if stream is None:
            stream = texts[e.stream_id] = str(e.stream_id)
        at = texts.get(e.recorded_at)
        if at is None:
            at = texts[e.recorded_at] = chain.canonical_time(e.recorded_at)
        found.append(bundle.canonical_bytes(stream, e.version, e.type, e.schema_version, at, e.data, e.metadata))
    return found


def leaf_of(e: RawEvent) -> bytes:
    """The event's leaf hash, from its canonical bytes."""
    return merkle.leaf_hash(canonical_of(e))


Erased = dict[int, tuple[bytes, bytes]]  #: position -> (chain digest, leaf hash) of an erased event's bytes as they were


def hashes_of(events: list[RawEvent], erased: Erased) -> tuple[list[bytes], list[bytes]]:
    """Each event's chain digest and leaf hash: from its bytes, or, where its job's data was erased
    (application/erasure.py), the commitments the log kept of its bytes as they were."""
    digests, leaves = [], []
    for e, canonical in zip(events, canonicals_of(events), strict=True):
        kept = erased.get(e.position)
        if kept is None:
            kept = hashlib.sha256(canonical).digest(), merkle.leaf_hash(canonical)
        digests.append(kept[0])
        leaves.append(kept[1])
    return digests, leaves


class ErasureCheck:
    """Erased events may only be what an erasure leaves: data with nothing of the job's left in it,
    of a job whose stream records JobErased. So the commitments kept of them cannot hide an edit."""

    def __init__(self) -> None:
        self.erased_jobs: set = set()  # jobs whose stream records JobErased
        self.marked: dict = {}  # job id -> the first of its events marked erased (position)
        self.problems: list[tuple[str, object]] = []

    def add(self, events: list[RawEvent], erased: Erased) -> None:
        for e in events:
            if e.type == "JobErased":
                self.erased_jobs.add(e.stream_id)
            if e.position in erased:
                self.marked.setdefault(e.stream_id, e.position)
                if erasure.redact(e.type, _data(e.data)) is not None:
                    self.problems.append((f"the event at position {e.position} is marked erased but holds the job's data", e.stream_id))

    def finish(self) -> list[tuple[str, object]]:
        for job_id, position in self.marked.items():
            if job_id not in self.erased_jobs:
                self.problems.append((f"the event at position {position} is marked erased but its job records no JobErased", job_id))
        return self.problems


def _data(text: str) -> dict:
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


async def stored_checkpoints(stores: Stores) -> list[Checkpoint]:
    """Every stored checkpoint, ascending by size."""
    found, after = [], -1
    while page := await stores.tree.list_checkpoints(after, PAGE):
        found += page
        after = page[-1].tree_size
    return found


def check_signature(c: Checkpoint, key: note.VerifierKey | None) -> str | None:
    """Why a stored checkpoint's note does not vouch for its size and root, or None."""
    try:
        signed = note.verify_checkpoint(c.note, key) if key else note.parse_checkpoint(note.split_note(c.note)[0])
    except ProofError as exc:
        return f"checkpoint of size {c.tree_size}: {exc}"
    if (signed.size, signed.root) != (c.tree_size, c.root_hash):
        return f"checkpoint of size {c.tree_size}: its note signs size {signed.size}, root {_b64(signed.root)}"
    return None


class TreeCheck:
    """Fed the log's events in order, it recomputes the tree and says where it parts from what was
    stored (the tree's leaves) and signed (the checkpoints)."""

    def __init__(self, stores: Stores, checkpoints: list[Checkpoint]) -> None:
        self.stores = stores
        self.builder = merkle.Builder()
        self.pending = list(checkpoints)  # not reached yet, ascending
        self.largest = checkpoints[-1].tree_size if checkpoints else 0
        self.agreed = 0  # the largest checkpoint size whose root the log still hashes to
        self.problems: list[str] = []
        self._leaf_differs = False

    async def add_page(self, page: list[RawEvent], leaves: list[bytes]) -> None:
        """Add a page of the log with its events' leaf hashes."""
        start, builder, pending = self.builder.size, self.builder, self.pending
        stored = [] if self._leaf_differs else await self.stores.tree.leaf_hashes(start, len(page))
        differs = None if stored == leaves[: len(stored)] else next(i for i, h in enumerate(stored) if h != leaves[i])
        for offset, hashed in enumerate(leaves):
            if offset == differs:
                self._leaf_differs = True
                await self._name_leaf(start + offset, page[offset])
            if pending and pending[0].tree_size <= builder.size:
                self._reach()  # the checkpoints of the size before this leaf
            builder.add(hashed)
        self._reach()

    def _reach(self) -> None:
        while self.pending and self.pending[0].tree_size <= self.builder.size:
            self._compare(self.pending.pop(0))

    def finish(self) -> None:
        """After the last event: checkpoints bigger than the log mean events are gone."""
        self._reach()  # a checkpoint of the empty tree, in an empty log
        if self.largest > self.builder.size:
            self.problems.append(
                f"the log holds {self.builder.size} events but a checkpoint of size {self.largest} was signed: "
                f"events were deleted or the tail truncated (leaf {self.builder.size} on is missing)"
            )

    def _compare(self, c: Checkpoint) -> None:
        if self.builder.root() == c.root_hash:
            self.agreed = c.tree_size
            return
        self.problems.append(
            f"the log's first {c.tree_size} events do not hash to the root signed at size {c.tree_size}: "
            f"the first difference lies in leaves {self.agreed}..{c.tree_size - 1}"
        )
        self.pending.clear()  # later checkpoints differ too: one report says where it starts

    async def _name_leaf(self, index: int, e: RawEvent) -> None:
        was = await self.stores.tree.leaf(index)
        recorded = f"position {was.position} of job {was.job_id}" if was else "another event"
        self.problems.append(
            f"leaf {index} differs from the leaf the tree recorded: the log has position {e.position} "
            f"(job {e.stream_id} version {e.version}) there, the tree recorded {recorded}: "
            "an event was changed, deleted, inserted or moved"
        )


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()
