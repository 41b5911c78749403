"""Domain events: immutable facts, named in the past tense, one per fact. A job's events and a job
type's are here; a schedule's and a webhook endpoint's in modules of their own, named here too.

Each event class knows its stored `type` name and `schema_version`. Datetimes
travel as ISO 8601 strings in stored data; `to_data`/`from_data` convert.
"""

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from jobledger.domain import upcasters
from jobledger.domain.event import JSON, Event  # noqa: F401 (Event: named here for every module that reads events)


@dataclass(frozen=True, slots=True)
class JobCreated(Event):
    type: ClassVar[str] = "JobCreated"
    # v2: retry_base_seconds, retry_max_seconds; v3: user; v4: message. depends_on came later without a
    # version of its own: it is left out of the data when it is None, so every older event reads as it was
    schema_version: ClassVar[int] = 4
    _datetimes: ClassVar[tuple[str, ...]] = ("run_at", "expires_at")

    job_type: str
    tenant: str
    payload: JSON
    metadata: dict[str, JSON]
    phases: tuple[str, ...]
    priority: int
    max_attempts: int
    run_at: datetime | None
    expires_at: datetime
    idempotency_key: str | None = None
    request_hash: str | None = None
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    user: str | None = None  # the signed-in user who created it; None: created with an API key
    message: str | None = None  # the job's first progress message, while it waits ("waiting for upload")
    # the jobs it runs after, each {"job": id, "on_failure": "cancel" | "run"}; None (and left out of
    # the stored data): none. The job_edges table is made from these (eventlog/edge_rows.py).
    depends_on: tuple[dict[str, str], ...] | None = None

    def to_data(self) -> dict[str, JSON]:
        data = Event.to_data(self)
        if self.depends_on is None:
            del data["depends_on"]  # a job without parents is stored as it was before dependencies
        else:
            data["depends_on"] = list(self.depends_on)
        return data


@dataclass(frozen=True, slots=True)
class JobStarted(Event):
    """An attempt began: by the tracking client, or by a worker holding a lease."""

    type: ClassVar[str] = "JobStarted"
    schema_version: ClassVar[int] = 2  # v2: lease_token_hash instead of the token
    _datetimes: ClassVar[tuple[str, ...]] = ("lease_expires_at",)

    attempt: int
    worker_id: str | None = None
    lease_token_hash: str | None = None  # the token itself is shown once, to the worker
    lease_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LeaseExtended(Event):
    """The worker holding the lease sent a heartbeat."""

    type: ClassVar[str] = "LeaseExtended"
    _datetimes: ClassVar[tuple[str, ...]] = ("lease_expires_at",)

    lease_expires_at: datetime


@dataclass(frozen=True, slots=True)
class LeaseExpired(Event):
    """The worker's lease ran out: it may no longer change the job."""

    type: ClassVar[str] = "LeaseExpired"

    worker_id: str | None
    attempt: int


@dataclass(frozen=True, slots=True)
class JobReleased(Event):
    """The worker gave the job back unfinished: queued again, claimable at once; its attempt
    does not count (the next claim is attempt `attempt` again)."""

    type: ClassVar[str] = "JobReleased"

    worker_id: str | None
    attempt: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RetryScheduled(Event):
    """The job is queued again, claimable from `run_at`."""

    type: ClassVar[str] = "RetryScheduled"
    _datetimes: ClassVar[tuple[str, ...]] = ("run_at",)

    attempt: int  # the attempt that failed
    run_at: datetime
    error: JSON = None
    manual: bool = False
    requested_by: str | None = None


@dataclass(frozen=True, slots=True)
class CancellationRequested(Event):
    """Cancel was asked while a worker holds the job; it ends at the worker's next call."""

    type: ClassVar[str] = "CancellationRequested"

    reason: str | None = None
    cancelled_by: str | None = None


@dataclass(frozen=True, slots=True)
class ArtifactAdded(Event):
    type: ClassVar[str] = "ArtifactAdded"

    name: str
    content_type: str
    data: JSON
    size: int


@dataclass(frozen=True, slots=True)
class PhaseStarted(Event):
    type: ClassVar[str] = "PhaseStarted"

    phase: str


@dataclass(frozen=True, slots=True)
class ProgressReported(Event):
    type: ClassVar[str] = "ProgressReported"

    percent: float | None
    message: str | None = None
    details: JSON = None


@dataclass(frozen=True, slots=True)
class PhaseCompleted(Event):
    type: ClassVar[str] = "PhaseCompleted"

    phase: str
    result: JSON = None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class PhaseFailed(Event):
    type: ClassVar[str] = "PhaseFailed"

    phase: str
    error: JSON


@dataclass(frozen=True, slots=True)
class JobCompleted(Event):
    type: ClassVar[str] = "JobCompleted"

    result: JSON = None


@dataclass(frozen=True, slots=True)
class JobFailed(Event):
    type: ClassVar[str] = "JobFailed"

    error: JSON


@dataclass(frozen=True, slots=True)
class JobCancelled(Event):
    type: ClassVar[str] = "JobCancelled"

    reason: str | None = None
    cancelled_by: str | None = None


@dataclass(frozen=True, slots=True)
class JobExpired(Event):
    type: ClassVar[str] = "JobExpired"
    _datetimes: ClassVar[tuple[str, ...]] = ("expires_at",)

    expires_at: datetime


@dataclass(frozen=True, slots=True)
class JobErased(Event):
    """A finished job's data was erased (domain/erasure.py): its earlier events keep their facts,
    not their payload, metadata values, results, errors, messages or artifacts."""

    type: ClassVar[str] = "JobErased"

    reason: str | None = None
    erased_by: str | None = None


# Dependencies (domain/dependencies.py): a child waits for its parents; each parent's end is
# recorded on the child's stream, so that two parents ending at once meet on the child's version.


@dataclass(frozen=True, slots=True)
class ChildAdded(Event):
    """A job that depends on this one was created: this job's end now decides whether it runs."""

    type: ClassVar[str] = "ChildAdded"

    child: str
    on_failure: str = "cancel"


@dataclass(frozen=True, slots=True)
class DependencyResolved(Event):
    """A parent of this waiting job ended in a way that lets it run: completed, or ended otherwise
    over an edge whose on_failure is "run"."""

    type: ClassVar[str] = "DependencyResolved"

    parent: str
    status: str


@dataclass(frozen=True, slots=True)
class DependenciesMet(Event):
    """The last of the job's parents was resolved: it stops waiting and is queued."""

    type: ClassVar[str] = "DependenciesMet"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        JobCreated,
        JobStarted,
        PhaseStarted,
        ProgressReported,
        PhaseCompleted,
        PhaseFailed,
        JobCompleted,
        JobFailed,
        JobCancelled,
        JobExpired,
        LeaseExtended,
        LeaseExpired,
        JobReleased,
        RetryScheduled,
        CancellationRequested,
        ArtifactAdded,
        JobErased,
        ChildAdded,
        DependencyResolved,
        DependenciesMet,
    )
}

# A job type's own stream (domain/job_type.py): its definition and whether claims give out its jobs.


@dataclass(frozen=True, slots=True)
class TypeDefined(Event):
    """The type was registered, or registered again: `config` replaces the one before."""

    type: ClassVar[str] = "TypeDefined"

    tenant: str
    name: str
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TypePaused(Event):
    """Claims stop giving out the type's jobs; creates still queue them."""

    type: ClassVar[str] = "TypePaused"

    tenant: str
    name: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TypeResumed(Event):
    type: ClassVar[str] = "TypeResumed"

    tenant: str
    name: str


#: the events of job type streams (schedules' below); every other stream is a job's (EVENT_TYPES)
TYPE_EVENT_TYPES: dict[str, type[Event]] = {cls.type: cls for cls in (TypeDefined, TypePaused, TypeResumed)}
from jobledger.domain.schedule_events import SCHEDULE_EVENT_TYPES
from jobledger.domain.webhook_events import WEBHOOK_EVENT_TYPES

#: every event the log holds, by its stored type name
STORED_TYPES: dict[str, type[Event]] = {
    **EVENT_TYPES, **TYPE_EVENT_TYPES, **SCHEDULE_EVENT_TYPES, **WEBHOOK_EVENT_TYPES,
}

for _cls in STORED_TYPES.values():
    _cls._names = tuple(f.name for f in fields(_cls))
del _cls


def decode(type_name: str, data: dict[str, JSON], schema_version: int | None = None) -> Event:
    """Turn stored (type, data) back into its event, upcasting an older schema version."""
    cls = STORED_TYPES[type_name]
    if schema_version is not None and schema_version < cls.schema_version:
        data = upcasters.upcast(type_name, schema_version, data)
    return cls.from_data(data)
