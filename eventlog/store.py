"""The EventStore contract shared by both backends, and the rows it moves."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain import errors
from eventlog.chain import RawEvent


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; its time is chosen by the caller, who folded it already."""

    type: str
    data: dict[str, Any]
    recorded_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    stream_id: UUID
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    hash: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "job_id": str(self.stream_id),
            "version": self.version,
            "type": self.type,
            "schema_version": self.schema_version,
            "data": self.data,
            "metadata": self.metadata,
            "recorded_at": self.recorded_at.isoformat(),
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One caller's append, as queued for the group-committing appender.

    `state` is the stream's read-model row after these events (see
    projections.job_status.row); it is written in the same transaction.
    """

    stream_id: UUID
    expected_version: int
    events: Sequence[NewEvent]
    state: dict[str, Any] | None = None


class AppendsRefused(errors.VersionConflict):
    """append_all wrote nothing: `conflicts` are its appends that met another version."""

    def __init__(self, conflicts: list[errors.VersionConflict]):
        first = conflicts[0]
        super().__init__(first.stream_id, first.expected_version, first.current_version)
        self.conflicts = conflicts


@dataclass(frozen=True, slots=True)
class StatusRow:
    job_id: UUID
    version: int
    last_position: int
    doc: str  # the stored JSON document (without position), sent to clients as it is
    tenant: str | None = None  # filled by get_status: who may see the job, without parsing `doc`
    type: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as stored: never the key itself, only its hash."""

    key_id: str
    key_hash: str
    role: str
    tenant: str
    types: tuple[str, ...] | None
    name: str | None
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: str | None = None
    type: str | None = None
    tenant: str | None = None
    types: tuple[str, ...] | None = None  # only these types (a key limited to some types)
    before: int | None = None  # keyset cursor: created_position of the last row seen
    limit: int = 50


@dataclass(frozen=True, slots=True)
class ClaimQuery:
    """Which queued jobs a claim may take: due by `now`, of `types` (None: any)."""

    types: tuple[str, ...] | None
    now: datetime
    limit: int
    max_running: dict[str, int] = field(default_factory=dict)  # per-type limits on running jobs
    tenant: str | None = None  # only this tenant's jobs


@dataclass(frozen=True, slots=True)
class QueueStats:
    type: str
    queued: int
    running: int
    oldest_queued_at: datetime | None


# Given the claimable status rows, the appends that claim them (run while claims are serialised).
ClaimPlan = Callable[[list[StatusRow]], list["AppendRequest"]]


class EventStore(Protocol):
    backend: str

    async def append(
        self, stream_id: UUID, expected_version: int, events: Sequence[NewEvent], state: dict[str, Any] | None = None
    ) -> list[RecordedEvent]: ...

    async def append_all(self, requests: Sequence[AppendRequest]) -> list[list[RecordedEvent]]:
        """All of `requests` (each to a stream of its own) in one transaction, or none of them:
        if any meets another version than it expects, nothing is written (AppendsRefused)."""

    async def read_stream(self, stream_id: UUID) -> list[RecordedEvent]: ...

    async def read_all(self, *, after: int = 0, limit: int = 500) -> list[RecordedEvent]:
        """Events after position `after`, in position order, none of which any event still
        to commit can come before: a reader of `position > last_seen` misses nothing."""
        ...

    async def head(self) -> int:
        """The position up to which read_all would answer now."""
        ...

    async def raw_stream(self, stream_id: UUID) -> list["RawEvent"]:
        """A job's events as stored, in position order: what verification hashes."""
        ...

    async def raw_all(self, *, after: int = 0, limit: int = 5000) -> list["RawEvent"]: ...

    async def status_versions(self) -> dict[UUID, int]:
        """Each job's version as the status read model last saw it."""
        ...

    async def listen(self, callback: "Listener") -> None:
        """Call `callback(written)` whenever the log may have moved: `written` holds the
        (tenant, job type, status) of each status row written, or is None where that is not known (a
        wake-up from an instance that did not say, or after the connection that brings other
        instances' wake-ups was lost)."""
        ...

    async def get_status(self, job_id: UUID) -> StatusRow | None: ...

    async def list_status(self, query: JobFilter) -> list[tuple[int, int, str]]:
        """(created_position, last_position, doc) of matching jobs, newest first."""
        ...

    async def count_by_status(self) -> dict[str, int]: ...

    async def count_by_type_and_status(self) -> dict[tuple[str, str], int]:
        """(job type, status) -> jobs in the status read model."""
        ...

    async def due_for_expiry(self, now: datetime, limit: int) -> list[UUID]: ...

    async def rebuild_status(self, fold) -> int: ...

    async def prune_status(self, finished_before: datetime) -> int: ...

    async def claim(self, query: ClaimQuery, plan: ClaimPlan) -> list[list[RecordedEvent]]:
        """Claim queued jobs atomically: no two claims, on any instance, get the same job."""
        ...

    async def due_for_lease_expiry(self, now: datetime, limit: int) -> list[UUID]: ...

    async def queue_stats(self, now: datetime) -> list[QueueStats]: ...

    async def put_type(self, name: str, config: dict[str, Any], now: datetime) -> None: ...

    async def get_types(self) -> dict[str, dict[str, Any]]: ...

    async def put_key(self, key: ApiKey) -> None: ...

    async def key_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def list_keys(self) -> list[ApiKey]: ...

    async def revoke_key(self, key_id: str, now: datetime) -> bool:
        """Revoke an active key; False if there is none with this id."""
        ...

    async def close(self) -> None: ...


# What listeners hear of a commit: each status row it wrote as (tenant, job type, status), or None
# where that is not known (a log-only append, or another instance that did not say).
Written = frozenset[tuple[str, str, str]]
Listener = Callable[[Written | None], None]


def rows_written(requests: Sequence[AppendRequest], outcomes: Sequence[list[RecordedEvent] | Exception]) -> Written | None:
    """(tenant, job type, status) of the status rows the accepted appends wrote: empty when every
    append was refused; None when one was accepted without a status row."""
    written = set()
    for request, outcome in zip(requests, outcomes, strict=True):
        if isinstance(outcome, list) and outcome:
            if request.state is None:
                return None
            state = request.state
            written.add((state["tenant"], state["type"], state["status"]))
    return frozenset(written)


def claim_allowance(query: ClaimQuery, running: dict[str, int]) -> dict[str, int]:
    """How many more jobs of each limited type may start now."""
    return {t: max(0, limit - running.get(t, 0)) for t, limit in query.max_running.items()}


def candidate_scans(query: ClaimQuery, allowance: dict[str, int]) -> list[tuple[str | None, list[str], int]]:
    """(a type, or None for any, types to leave out, limit) of each candidate query a claim
    runs, each read in claim order off a queue index: one per named type (or one across
    types, leaving the limited ones out), and one per limited type with room left, so a
    type at its limit never crowds the others out of a claim."""
    if query.types is None:
        scans = [(None, list(allowance), query.limit)]
    else:
        scans = [(type_, [], query.limit) for type_ in dict.fromkeys(query.types) if type_ not in allowance]
    for type_, room in allowance.items():
        if room > 0 and (query.types is None or type_ in query.types):
            scans.append((type_, [], min(room, query.limit)))
    return scans


def in_claim_order(rows: list, limit: int) -> list:
    """The first `limit` of a claim's candidate rows, gathered from its scans: (type, job id,
    version, last position, doc, priority, due time, created position) each, in claim order
    (highest priority, then longest due, then first logged)."""
    return sorted(rows, key=lambda r: (-r[5], r[6], r[7]))[:limit]


def trim_to_allowance(rows: list[tuple[str, StatusRow]], allowance: dict[str, int]) -> list[StatusRow]:
    """Keep rows in order, dropping those past their type's allowance."""
    taken: dict[str, int] = {}
    kept = []
    for type_, row in rows:
        if type_ in allowance and taken.get(type_, 0) >= allowance[type_]:
            continue
        taken[type_] = taken.get(type_, 0) + 1
        kept.append(row)
    return kept
