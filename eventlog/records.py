"""The values the stores take and give, on every backend: events, appends, status rows, keys, queries."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from jobledger.domain import errors


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


# Where every event is made (an append's outcomes, a read of the log): `event = object.__new__(RecordedEvent)`,
# then `init_recorded(event, position=..., ...)`. That is what `RecordedEvent(position=..., ...)` does, by
# keyword as well, less the dict a class call first packs keywords into (a quarter of the cost of an event).
init_recorded = RecordedEvent.__init__


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
    user: str | None = None  # filled by get_status: the user who created the job (its document's `user`)


@dataclass(frozen=True, slots=True)
class Redaction:
    """An event of an erased job: its data without the job's, and the commitments of what it was."""

    position: int
    data: str  # the redacted data, as JSON text
    digest: bytes  # the chain digest of the event's canonical bytes as they were
    leaf: bytes  # their Merkle leaf hash


@dataclass(frozen=True, slots=True)
class TypeRow:
    """A tenant's job type as its read model holds it (job_types, eventlog/type_rows.py)."""

    config: dict[str, Any]
    paused: bool = False
    paused_reason: str | None = None
    version: int = 0  # the type's stream version the row reflects; 0: registered before its stream existed


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
    metadata: tuple[tuple[str, str], ...] = ()  # (key, value) pairs a job's metadata holds, all of them
    created_after: datetime | None = None  # created at or after
    created_before: datetime | None = None  # created before
    user: str | None = None  # only jobs this user created (a token scoped to a user)
    finished_before: datetime | None = None  # finished before (a bulk retry's as_of)


@dataclass(frozen=True, slots=True)
class ClaimQuery:
    """Which queued jobs a claim may take: due by `now`, of `types` (None: any)."""

    types: tuple[str, ...] | None
    now: datetime
    limit: int
    max_running: dict[str, int] = field(default_factory=dict)  # per-type limits on running jobs
    tenant: str | None = None  # only this tenant's jobs
    paused: frozenset[str] = frozenset()  # types whose jobs stay queued (domain/job_type.py)


@dataclass(frozen=True, slots=True)
class QueueStats:
    type: str
    queued: int
    running: int
    oldest_queued_at: datetime | None


# Given the claimable status rows, the appends that claim them (run while claims are serialised).
ClaimPlan = Callable[[list[StatusRow]], list[AppendRequest]]


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """A schedule as its read model holds it (eventlog/schedule_rows.py)."""

    tenant: str
    name: str
    stream_id: UUID
    status: str
    config: dict[str, Any]
    paused_reason: str | None
    next_fire_at: datetime | None
    generation: int
    last_job_id: UUID | None
    last_fires: list[dict[str, Any]]
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DueSchedule:
    """An active schedule whose next fire time has come, and the job of its last fire as it is now
    (its status and document; None when it has none, or it has left the status table)."""

    row: ScheduleRow
    last_job_status: str | None
    last_job_doc: str | None


# Given the due schedules (held by this fire alone), the appends that fire them: their streams'
# and their jobs', written in one transaction.
FirePlan = Callable[[list[DueSchedule]], list[AppendRequest]]
# What became of one append of a batch: its recorded events, or why it was refused.
Outcome = list[RecordedEvent] | Exception


# What listeners hear of a commit: each status row it wrote as (tenant, job type, status), or None
# where that is not known (a log-only append, or another instance that did not say).
Written = frozenset[tuple[str, str, str]]
Listener = Callable[[Written | None], None]


def rows_written(requests: Sequence[AppendRequest], outcomes: Sequence[Outcome]) -> Written | None:
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


@dataclass(frozen=True, slots=True)
class Leaf:
    """An event as a leaf of the log's Merkle tree (docs/auditing.md)."""

    leaf_index: int  #: how many settled events come before it: positions may have gaps
    position: int
    job_id: UUID
    hash: bytes  #: SHA-256(0x00 ‖ the event's canonical bytes)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed checkpoint of the tree: its size, root and the signed note (docs/auditing.md)."""

    tree_size: int
    root_hash: bytes
    note: str
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookRow:
    """A webhook endpoint as its read model holds it (webhooks, eventlog/webhook_rows.py)."""

    webhook_id: str
    tenant: str
    url: str
    event_types: tuple[str, ...] | None
    job_types: tuple[str, ...] | None
    description: str | None
    status: str
    disabled_reason: str | None
    secret_id: str
    previous_secret_id: str | None
    previous_expires_at: datetime | None
    created_position: int
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to send to one endpoint (webhook_deliveries)."""

    delivery_id: str
    webhook_id: str
    job_id: UUID
    position: int
    event_type: str
    body: str
    state: str = "pending"  #: pending, delivered, or failed (its retries ran out)
    attempts: int = 0
    schedule_from: int = 0  #: attempts made when its retries last began: 0, or when it was sent again by hand
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None
    delivered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try to send a delivery: the status answered, or why there was none."""

    delivery_id: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float
