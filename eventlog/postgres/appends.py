"""Appends on PostgreSQL: one call of `jobledger_append` (migrations 0008, 0009) per batch, in
named notation, and what follows each commit. The log's group-committed batches, its
append_all and the queue's claims all append through one `Appends`.
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from jobledger.domain import errors
from jobledger.eventlog import chain, codec
from jobledger.eventlog.postgres.connection import call
from jobledger.eventlog.postgres.notify import Wakeups
from jobledger.eventlog.records import AppendRequest, Outcome, RecordedEvent, init_recorded, rows_written

APPEND_LOCK = 0x6A6F626C  # appends hold it shared; a rebuild's swap or an import, exclusive
HEADS = 16_384  # jobs whose last (version, hash) a store keeps, to chain their next events itself
# The status row's columns jobledger_append takes as arrays of their own (parameter s_<column>), after
# the events' arrays (its version and positions it works out itself; the document comes last, as JSON text).
_STATE_COLUMNS = (
    "tenant", "type", "status", "priority", "run_at", "expires_at", "lease_expires_at", "created_at", "updated_at",
    "finished_at",
)
# jobledger_append's parameters (migration 0009; 0016 added e_leaf, last), each argument passed by its name.
_EVENT_PARAMETERS = (
    "e_index", "e_version", "e_types", "e_schema", "e_data", "e_meta", "e_at", "e_digest", "e_hash",
)
APPEND = call(
    "jobledger_append",
    ("p_streams", "p_expected", "p_counts", *_EVENT_PARAMETERS, *(f"s_{c}" for c in _STATE_COLUMNS), "s_doc", "e_leaf"),
    returns="current_versions, first_position, hashes",
)


class Heads:
    """The last (version, hash) of the jobs this store wrote most recently: the next append to
    one of them at that version chains its events here, not in the database. An event never
    changes once written, so a remembered head is either the job's head or an older version,
    which the append's version check refuses anyway."""

    def __init__(self, size: int = HEADS) -> None:
        self.size = size
        self._heads: dict[UUID, tuple[int, str]] = {}

    def previous_hash(self, request: AppendRequest) -> str | None:
        """The hash the request's first event chains on, if known."""
        if request.expected_version == 0:
            return ""
        head = self._heads.get(request.stream_id)
        return head[1] if head is not None and head[0] == request.expected_version else None

    def remember(self, outcomes: list[Outcome]) -> None:
        heads = self._heads
        for outcome in outcomes:
            if isinstance(outcome, list) and outcome:
                last = outcome[-1]
                heads.pop(last.stream_id, None)  # to the young end
                heads[last.stream_id] = (last.version, last.hash)
        while len(heads) > self.size:
            del heads[next(iter(heads))]


class Appends:
    """The batch writer: sends a batch on a connection (in the caller's transaction), and after
    the commit wakes the followers and remembers the jobs' new heads."""

    def __init__(self, wakeups: Wakeups, heads: Heads | None = None):
        self._wakeups = wakeups
        self.heads = Heads() if heads is None else heads

    async def send(self, conn: asyncpg.Connection, batch: Sequence[AppendRequest]) -> asyncpg.Record:
        """jobledger_append's row for `batch` (`outcomes` reads it); the transaction's first write."""
        return await conn.fetchrow(APPEND.sql, *APPEND.args(append_args(batch, self.heads)))

    def after_commit(self, requests: Sequence[AppendRequest], outcomes: list[Outcome]) -> list[Outcome]:
        """Appends committed: followers are woken, and the jobs' new heads remembered."""
        self._wakeups.committed(rows_written(requests, outcomes))
        self.heads.remember(outcomes)
        return outcomes


def outcomes(batch: Sequence[AppendRequest], row: asyncpg.Record) -> list[Outcome]:
    """Each append's recorded events, or its VersionConflict, from jobledger_append's row: the
    accepted events have the positions from `first_position` on, in the order they were sent."""
    position, hashes = row["first_position"], row["hashes"]
    result: list[Outcome] = []
    end = 0
    for request, current in zip(batch, row["current_versions"], strict=True):
        start, end = end, end + len(request.events)
        if current != request.expected_version or start == end:
            result.append(errors.VersionConflict(request.stream_id, request.expected_version, current))
            continue
        stream_id, first = request.stream_id, request.expected_version
        recorded = []
        for v, (k, e) in enumerate(zip(range(start, end), request.events), 1):
            event = object.__new__(RecordedEvent)
            init_recorded(
                event, position=position + v - 1, stream_id=stream_id, version=first + v, type=e.type,
                schema_version=e.schema_version, data=e.data, metadata=e.metadata, recorded_at=e.recorded_at,
                hash=hashes[k],
            )
            recorded.append(event)
        result.append(recorded)
        position += end - start
    return result



def append_args(batch: Sequence[AppendRequest], heads: Heads | None = None) -> dict[str, Any]:
    """jobledger_append's arguments for `batch`, by parameter name."""
    return {
        "p_streams": [r.stream_id for r in batch],
        "p_expected": [r.expected_version for r in batch],
        "p_counts": [len(r.events) for r in batch],
        **_event_arrays(batch, heads),
        **_state_arrays(batch),
    }


def _event_arrays(batch: Sequence[AppendRequest], heads: Heads | None) -> dict[str, list | None]:
    index, versions, types, schemas, data, meta, at, digests, hashes, leaves = [], [], [], [], [], [], [], [], [], []
    texts: dict[int, str] = {}  # an append's events mostly share one metadata dict and one time: each made once
    chained = True  # every hash worked out here: the function needs no digests
    for i, request in enumerate(batch, 1):
        stream = str(request.stream_id)
        previous = heads.previous_hash(request) if heads is not None else None
        chained = chained and previous is not None
        for version, e in enumerate(request.events, request.expected_version + 1):
            text = codec.dumps(e.data)
            meta_text = texts.get(id(e.metadata))
            if meta_text is None:
                meta_text = texts[id(e.metadata)] = codec.dumps(e.metadata)
            at_text = texts.get(id(e.recorded_at))
            if at_text is None:
                at_text = texts[id(e.recorded_at)] = chain.canonical_time(e.recorded_at)
            digest, leaf = chain.digest_and_leaf(stream, version, e.type, e.schema_version, at_text, text, meta_text)
            if previous is not None:
                previous = chain.link(previous, digest)
            index.append(i)
            versions.append(version)
            types.append(e.type)
            schemas.append(e.schema_version)
            data.append(text)
            meta.append(meta_text)
            at.append(e.recorded_at)
            digests.append(digest)
            hashes.append(previous)
            leaves.append(leaf)
    return {
        "e_index": index, "e_version": versions, "e_types": types, "e_schema": schemas, "e_data": data,
        "e_meta": meta, "e_at": at, "e_digest": None if chained else digests, "e_hash": hashes,
        "e_leaf": leaves,
    }


def _state_arrays(batch: Sequence[AppendRequest]) -> dict[str, list | None]:
    states = [request.state for request in batch]
    if all(state is None for state in states):  # a log-only batch: no status rows to write
        return {f"s_{name}": None for name in (*_STATE_COLUMNS, "doc")}
    arrays = {f"s_{name}": [None if state is None else state[name] for state in states] for name in _STATE_COLUMNS}
    arrays["s_doc"] = [None if state is None else state["doc"] for state in states]
    return arrays
