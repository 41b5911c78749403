"""Export the log as JSON lines, and import such a file into an empty store."""

import base64
from collections.abc import Iterable, Iterator
from datetime import datetime
from uuid import UUID

import orjson

from jobledger.eventlog import codec
from jobledger.eventlog.chain import RawEvent
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import Checkpoint, Redaction
from jobledger.projections import job_status
from jobledger.application import audit, audit_tree
from jobledger.proof import merkle, note

PAGE = 5000


async def export_lines(stores: Stores, after: int = 0) -> Iterator[bytes]:
    """One JSON line per event, in position order, hashes included; then, in a full export, the
    signed checkpoints."""
    start, exported = after, 0
    while page := await stores.log.raw_all(after=after, limit=PAGE):
        erased = await stores.erasure.erased(page[0].position, page[-1].position)
        for e in page:
            line = {
                "position": e.position,
                "job_id": str(e.stream_id),
                "version": e.version,
                "type": e.type,
                "schema_version": e.schema_version,
                "data": orjson.Fragment(e.data),  # the stored text itself: the hash covers it
                "metadata": orjson.Fragment(e.metadata),
                "recorded_at": e.recorded_at.isoformat(timespec="microseconds"),
                "hash": e.hash,
            }
            if e.position in erased:  # its job's data was erased: what its bytes were, as the log keeps it
                digest, leaf = erased[e.position]
                line["erased"] = {"digest": _b64(digest), "leaf": _b64(leaf)}
            yield orjson.dumps(line) + b"\n"
        after, exported = page[-1].position, exported + len(page)
    if start == 0:  # a full export is the tree's whole prefix: its checkpoints can be checked on import
        async for line in _checkpoint_lines(stores, exported):
            yield line


async def _checkpoint_lines(stores: Stores, exported: int) -> Iterator[bytes]:
    """One line per stored checkpoint of the exported events (a later one may have been issued
    meanwhile), ascending by size, after the events (docs/auditing.md)."""
    after = -1  # the empty tree's too
    while page := await stores.tree.list_checkpoints(after, PAGE):
        for c in page:
            if c.tree_size > exported:
                return
            yield orjson.dumps({"checkpoint": {
                "tree_size": c.tree_size, "root_hash": base64.b64encode(c.root_hash).decode(), "note": c.note,
                "issued_at": c.issued_at.isoformat(timespec="microseconds"),
            }}) + b"\n"
        after = page[-1].tree_size


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _raw(line: bytes) -> tuple[RawEvent, tuple[bytes, bytes] | None]:
    """An exported event, and the commitments of its bytes as they were if its job's data was erased."""
    d = orjson.loads(line)
    event = RawEvent(
        d["position"], UUID(d["job_id"]), d["version"], d["type"], d["schema_version"],
        codec.dumps(d["data"]), codec.dumps(d["metadata"]), datetime.fromisoformat(d["recorded_at"]), d["hash"],
    )
    erased = d.get("erased")
    return event, None if erased is None else (base64.b64decode(erased["digest"]), base64.b64decode(erased["leaf"]))


def _checkpoint(line: bytes) -> Checkpoint:
    c = orjson.loads(line)["checkpoint"]
    return Checkpoint(c["tree_size"], base64.b64decode(c["root_hash"]), c["note"], datetime.fromisoformat(c["issued_at"]))


def check_tree(lines: Iterable[bytes], key: note.VerifierKey | None = None) -> int:
    """Check an export's checkpoints against its events before anything is written: the tree's root
    recomputed at each checkpoint's size must be the one signed (and, with `key`, the note's
    signature must verify). Returns the number of checkpoints; raises ValueError naming the first
    that fails."""
    leaves, checkpoints, last = [], [], 0
    for line in lines:
        if line.startswith(b'{"checkpoint"'):
            checkpoints.append(_checkpoint(line))
        elif line.strip():
            e, erased = _raw(line)
            if e.position <= last:
                raise ValueError(f"the export's events are not in position order at position {e.position}")
            leaves.append(audit_tree.leaf_of(e) if erased is None else erased[1])
            last = e.position
    if key is not None and not checkpoints:
        raise ValueError("the export carries no checkpoint to check against the key: refused")
    builder = merkle.Builder()
    for c in sorted(checkpoints, key=lambda c: c.tree_size):
        if c.tree_size > len(leaves):
            raise ValueError(f"checkpoint of size {c.tree_size}, but the export holds {len(leaves)} events: refused")
        for hashed in leaves[builder.size : c.tree_size]:
            builder.add(hashed)
        if builder.root() != c.root_hash:
            raise ValueError(
                f"the export's first {c.tree_size} events do not hash to the root of its checkpoint of that size: refused"
            )
        if problem := audit_tree.check_signature(c, key):
            raise ValueError(f"{problem}: refused")
    return len(checkpoints)


async def import_lines(stores: Stores, lines: Iterable[bytes], key: note.VerifierKey | None = None):
    """Check the export's tree against its checkpoints (nothing is written if one fails), load it
    into an empty store, rebuild the read model, and verify every chain, row and checkpoint."""
    if await stores.log.head() != 0:
        raise ValueError("the target store is not empty: import only into a new database")
    seekable = getattr(lines, "seekable", lambda: False)()
    if not seekable:
        lines = list(lines)  # read twice: checked, then written
    check_tree(lines, key)
    if seekable:
        lines.seek(0)
    batch, checkpoints, erased = [], [], {}
    for line in lines:
        if line.startswith(b'{"checkpoint"'):
            checkpoints.append(_checkpoint(line))
        elif line.strip():
            e, kept = _raw(line)
            batch.append(e)
            if kept is not None:
                erased.setdefault(e.stream_id, []).append(Redaction(e.position, e.data, *kept))
        if len(batch) >= PAGE:
            await stores.log.import_events(batch)
            batch = []
    if batch:
        await stores.log.import_events(batch)
    for job_id, redactions in erased.items():  # the events are as they were exported; their commitments go beside them
        await stores.erasure.erase(job_id, redactions)
    # kept as they were signed, so that no service on the new database signs another root for their sizes
    for checkpoint in checkpoints:
        await stores.tree.put_checkpoint(checkpoint)
    await stores.status.rebuild_status(job_status.Rebuild())
    return await audit.verify_log(stores, key=key)
