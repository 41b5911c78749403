"""A job's audit bundle, and which leaves a caller may have proofs for (docs/auditing.md).

A bundle holds the job's own events, each with its canonical bytes and its inclusion proof in
the tree of the latest checkpoint: an auditor checks it offline with the public key only
(`jobledger audit verify-bundle`). Other jobs' events, of any tenant, appear only as hashes
inside the proofs.
"""

import base64
from typing import Any
from uuid import UUID

import orjson

from jobledger.domain import errors
from jobledger.eventlog import merkle
from jobledger.eventlog.chain import RawEvent
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import Checkpoint, Leaf
from jobledger.application import snapshot
from jobledger.application.checkpoints import Checkpoints
from jobledger.application.jobs import Scope

FORMAT = "jobledger-audit-bundle/1"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _sees(stores: Stores, job_id: UUID, scope: Scope) -> bool:
    """Whether `scope` sees the job: its status row, else (past retention) its first event says whose it is."""
    row = await stores.status.get_status(job_id)
    if row is not None:
        return scope.sees(row.tenant, row.type, row.user)
    history = await stores.log.read_stream(job_id)
    if not history:
        return False
    return scope.sees(*snapshot.owner(history[0]))


async def visible_leaf(stores: Stores, leaf_index: int, scope: Scope) -> Leaf:
    """The leaf, if `scope` may have a proof for it; else LeafNotFound, as if there were none:
    another tenant's event is not even confirmed to be there."""
    leaf = await stores.tree.leaf(leaf_index)
    if leaf is None or not await _sees(stores, leaf.job_id, scope):
        raise errors.LeafNotFound(leaf_index=leaf_index)
    return leaf


def _event(e: RawEvent) -> dict[str, Any]:
    return {
        "position": e.position,
        "job_id": str(e.stream_id),
        "version": e.version,
        "type": e.type,
        "schema_version": e.schema_version,
        "data": orjson.Fragment(e.data),  # the stored text itself, as the canonical bytes hold it
        "metadata": orjson.Fragment(e.metadata),
        "recorded_at": e.recorded_at.isoformat(timespec="microseconds"),
    }


async def _covered(checkpoints: Checkpoints, events: list[RawEvent]) -> tuple[Checkpoint, dict[int, Leaf]]:
    """The latest checkpoint and the leaves of `events` it covers; a checkpoint is issued on demand
    when the latest does not cover them all yet (they settled after it)."""
    positions = [e.position for e in events]
    checkpoint = await checkpoints.latest()
    leaves = await checkpoints.stores.tree.leaves_at(positions)
    if len(leaves) < len(events) or max(leaf.leaf_index for leaf in leaves.values()) >= checkpoint.tree_size:
        checkpoint = await checkpoints.catch_up()
        leaves = await checkpoints.stores.tree.leaves_at(positions)
    return checkpoint, {p: leaf for p, leaf in leaves.items() if leaf.leaf_index < checkpoint.tree_size}


async def bundle(checkpoints: Checkpoints, job_id: UUID, scope: Scope | None) -> bytes:
    """The job's audit bundle as JSON: JobNotFound unless the job is there and `scope` sees it."""
    stores = checkpoints.stores
    events = await stores.log.raw_stream(job_id)
    if not events or scope is not None and not await _sees(stores, job_id, scope):
        raise errors.JobNotFound(job_id=str(job_id))
    checkpoint, leaves = await _covered(checkpoints, events)
    proven = [e for e in events if e.position in leaves]
    if not proven:
        raise errors.NoCheckpoint()
    paths = await checkpoints.inclusions([leaves[e.position].leaf_index for e in proven], checkpoint.tree_size)
    erased = await stores.erasure.erased(proven[0].position, proven[-1].position)
    entries = [
        {
            "leaf_index": leaves[e.position].leaf_index,
            "position": e.position,
            # an erased event's bytes are gone: its leaf hash is proven, what it held is not (application/erasure.py)
            **({"erased": True, "leaf_hash": b64(erased[e.position][1])} if e.position in erased
               else {"canonical": b64(merkle.canonical(e))}),
            "event": _event(e),
            "inclusion_proof": [b64(h) for h in path],
        }
        for e, path in zip(proven, paths, strict=True)
    ]
    body = {
        "format": FORMAT,
        "origin": checkpoint.note.split("\n", 1)[0],  # the signer's: another instance may have issued it
        "job_id": str(job_id),
        "checkpoint": checkpoint.note,
        "tree_size": checkpoint.tree_size,
        "events": entries,
    }
    return orjson.dumps(body)
