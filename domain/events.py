"""Domain events: immutable facts, named in the past tense, one per fact.

Each event class knows its stored `type` name and `schema_version`. Datetimes
travel as ISO 8601 strings in stored data; `to_data`/`from_data` convert.
"""

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from jobledger.domain import upcasters

JSON = Any


@dataclass(frozen=True, slots=True)
class Event:
    type: ClassVar[str] = "Event"
    schema_version: ClassVar[int] = 1
    _datetimes: ClassVar[tuple[str, ...]] = ()
    _names: ClassVar[tuple[str, ...]] = ()  # the fields' names, set below for every event type: fields() is slow

    def to_data(self) -> dict[str, JSON]:
        data = {name: getattr(self, name) for name in self._names}
        for name in self._datetimes:
            if data[name] is not None:
                data[name] = data[name].isoformat()
        if "phases" in data:
            data["phases"] = list(data["phases"])
        return data

    @classmethod
    def from_data(cls, data: dict[str, JSON]) -> "Event":
        if not cls._datetimes and "phases" not in data:
            return cls(**data)  # nothing to convert (most events, progress reports among them)
        values = dict(data)
        for name in cls._datetimes:
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        if "phases" in values:
            values["phases"] = tuple(values["phases"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class JobCreated(Event):
    type: ClassVar[str] = "JobCreated"
    schema_version: ClassVar[int] = 4  # v2: retry_base_seconds, retry_max_seconds; v3: user; v4: message
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
# A schedule's own stream (domain/schedule.py): its definition, pauses, and each of its fire times.
# `next_fire_at` (UTC) is the first fire time still to handle after the event: the read model's
# column the scheduler looks up (eventlog/schedule_rows.py).


@dataclass(frozen=True, slots=True)
class ScheduleCreated(Event):
    type: ClassVar[str] = "ScheduleCreated"
    _datetimes: ClassVar[tuple[str, ...]] = ("next_fire_at",)

    tenant: str
    name: str
    config: dict[str, Any]  #: cron, timezone, job (the template), overlap, catch_up, catch_up_limit
    next_fire_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduleUpdated(Event):  # `config` replaces the one before; fire times count again from the update
    type: ClassVar[str] = "ScheduleUpdated"
    _datetimes: ClassVar[tuple[str, ...]] = ("next_fire_at",)

    tenant: str
    name: str
    config: dict[str, Any]
    next_fire_at: datetime


@dataclass(frozen=True, slots=True)
class SchedulePaused(Event):
    type: ClassVar[str] = "SchedulePaused"

    tenant: str
    name: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleResumed(Event):  # fires again from the resume on: times passed while paused are not caught up
    type: ClassVar[str] = "ScheduleResumed"
    _datetimes: ClassVar[tuple[str, ...]] = ("next_fire_at",)

    tenant: str
    name: str
    next_fire_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduleDeleted(Event):
    type: ClassVar[str] = "ScheduleDeleted"

    tenant: str
    name: str


@dataclass(frozen=True, slots=True)
class ScheduleFired(Event):
    """A fire time came: its job `job_id` was created in the same transaction (and, with the overlap
    policy cancel_previous, the previous fire's unfinished job `cancelled_job_id` cancelled)."""
    type: ClassVar[str] = "ScheduleFired"
    _datetimes: ClassVar[tuple[str, ...]] = ("fire_at", "next_fire_at")

    tenant: str
    name: str
    fire_at: datetime
    job_id: str
    next_fire_at: datetime
    late: bool = False  #: caught up after downtime (catch_up latest or all), not fired on time
    cancelled_job_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleFireSkipped(Event):
    """A fire time came and made no job: the previous fire's job `running_job_id` is not finished
    (overlap skip), or a later fire time due at once supersedes it (`reason` says which)."""
    type: ClassVar[str] = "ScheduleFireSkipped"
    _datetimes: ClassVar[tuple[str, ...]] = ("fire_at", "next_fire_at")

    tenant: str
    name: str
    fire_at: datetime
    reason: str
    next_fire_at: datetime
    running_job_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleFiresMissed(Event):
    """Fire times from `first` to `last` passed while no instance ran the schedule, and the catch-up
    policy left them out (none; latest and all past their count)."""
    type: ClassVar[str] = "ScheduleFiresMissed"
    _datetimes: ClassVar[tuple[str, ...]] = ("first", "last", "next_fire_at")

    tenant: str
    name: str
    first: datetime
    last: datetime
    next_fire_at: datetime


#: the events of schedule streams
SCHEDULE_EVENT_TYPES: dict[str, type[Event]] = {cls.type: cls for cls in (
    ScheduleCreated, ScheduleUpdated, SchedulePaused, ScheduleResumed, ScheduleDeleted, ScheduleFired, ScheduleFireSkipped,
    ScheduleFiresMissed,
)}


# A webhook endpoint's own stream (domain/webhook.py). No event holds a secret: secrets live in
# the webhook_secrets table, named here by their `secret_id` only (exports and bundles carry events).


@dataclass(frozen=True, slots=True)
class WebhookCreated(Event):
    type: ClassVar[str] = "WebhookCreated"

    tenant: str
    webhook_id: str
    url: str
    event_types: list[str] | None  #: None: every job event
    job_types: list[str] | None  #: None: jobs of every type
    description: str | None
    secret_id: str


@dataclass(frozen=True, slots=True)
class WebhookUpdated(Event):
    """The endpoint's URL, filters or description were replaced (the whole set, as the event holds them)."""

    type: ClassVar[str] = "WebhookUpdated"

    tenant: str
    webhook_id: str
    url: str
    event_types: list[str] | None
    job_types: list[str] | None
    description: str | None


@dataclass(frozen=True, slots=True)
class WebhookSecretRotated(Event):
    """A new secret signs from now on; the one before still signs too until `previous_expires_at`."""

    type: ClassVar[str] = "WebhookSecretRotated"
    _datetimes: ClassVar[tuple[str, ...]] = ("previous_expires_at",)

    tenant: str
    webhook_id: str
    secret_id: str
    previous_secret_id: str
    previous_expires_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookDisabled(Event):
    """Nothing is sent to the endpoint until it is enabled: by hand, or after its retries ran out."""

    type: ClassVar[str] = "WebhookDisabled"

    tenant: str
    webhook_id: str
    reason: str | None = None
    delivery_id: str | None = None  #: the delivery whose retries ran out, when that was why


@dataclass(frozen=True, slots=True)
class WebhookEnabled(Event):
    type: ClassVar[str] = "WebhookEnabled"

    tenant: str
    webhook_id: str


@dataclass(frozen=True, slots=True)
class WebhookDeleted(Event):
    type: ClassVar[str] = "WebhookDeleted"

    tenant: str
    webhook_id: str


@dataclass(frozen=True, slots=True)
class WebhookResendRequested(Event):
    """A delivery was queued again by hand."""

    type: ClassVar[str] = "WebhookResendRequested"

    tenant: str
    webhook_id: str
    delivery_id: str


#: the events of webhook endpoints' streams
WEBHOOK_EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        WebhookCreated, WebhookUpdated, WebhookSecretRotated, WebhookDisabled, WebhookEnabled, WebhookDeleted,
        WebhookResendRequested,
    )
}
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
