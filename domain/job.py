"""The job state, folded from its events by `evolve` (or, in place, by a `Draft`)."""

from collections.abc import Iterable
from dataclasses import MISSING, dataclass, fields, replace
from datetime import datetime
from operator import attrgetter
from typing import Any
from uuid import UUID

from jobledger.domain import events
from jobledger.domain.status import PhaseStatus, Status

JSON = events.JSON


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    status: PhaseStatus = PhaseStatus.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: JSON = None
    confidence: float | None = None
    error: JSON = None


@dataclass(frozen=True, slots=True)
class Progress:
    percent: float | None
    message: str | None
    details: JSON
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    content_type: str
    size: int
    added_at: datetime
    version: int  # the job version that added it: its content is that event's data


@dataclass(frozen=True, slots=True)
class Dependency:
    """An edge to a parent: the job runs once `job` completes; if it ends otherwise, `on_failure`
    says whether the job is cancelled ("cancel") or runs anyway ("run")."""

    job: UUID
    on_failure: str = "cancel"


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """A job's state. Its fields are declared in the order of the job document's keys, each
    shown as orjson shows it (projections.job_status.document_json serializes a Job as is)."""

    id: UUID
    type: str
    tenant: str
    user: str | None = None  # the signed-in user who created it: a token scoped to a user sees only its jobs
    status: Status
    priority: int
    payload: JSON
    metadata: dict[str, JSON]
    phases: tuple[Phase, ...]
    progress: Progress | None = None
    result: JSON = None
    error: JSON = None
    attempts: int = 0
    max_attempts: int
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    worker_id: str | None = None
    lease_token_hash: str | None = None
    lease_expires_at: datetime | None = None
    cancel_requested: bool = False
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    artifacts: tuple[Artifact, ...] = ()
    depends_on: tuple[Dependency, ...] = ()  # its parents (domain/dependencies.py)
    waiting_on: tuple[UUID, ...] = ()  # the parents it still waits for, while it is waiting
    children: int = 0  # jobs created depending on it while it had not ended (ChildAdded)
    idempotency_key: str | None = None
    created_at: datetime
    run_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    erased_at: datetime | None = None  # its data was erased (JobErased): what remains, domain/erasure.py
    expires_at: datetime
    updated_at: datetime
    version: int = 0

    @property
    def leased(self) -> bool:
        """A worker holds this job under a lease (as opposed to a tracked job)."""
        return self.lease_token_hash is not None

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)


def _with_phase(job: Job, name: str, **changes) -> tuple[Phase, ...]:
    return tuple(replace(p, **changes) if p.name == name else p for p in job.phases)


def _created(job_id: UUID, e: events.JobCreated, at: datetime) -> dict:
    """The fields JobCreated sets; the others start at their defaults. A job with parents waits for them."""
    depends_on = tuple(Dependency(UUID(d["job"]), d["on_failure"]) for d in e.depends_on) if e.depends_on else ()
    return dict(
        depends_on=depends_on,
        waiting_on=tuple(d.job for d in depends_on),
        id=job_id,
        type=e.job_type,
        tenant=e.tenant,
        user=e.user,
        status=Status.WAITING if depends_on else Status.QUEUED,
        payload=e.payload,
        metadata=e.metadata,
        phases=tuple(Phase(name) for name in e.phases),
        priority=e.priority,
        max_attempts=e.max_attempts,
        created_at=at,
        updated_at=at,
        expires_at=e.expires_at,
        run_at=e.run_at,
        idempotency_key=e.idempotency_key,
        retry_base_seconds=e.retry_base_seconds,
        retry_max_seconds=e.retry_max_seconds,
        progress=None if e.message is None else Progress(None, e.message, None, at),
        version=1,
    )


_NO_LEASE = {"lease_token_hash": None, "lease_expires_at": None}  # worker_id stays: who held it last


def _changes(job: Job, e: events.Event, at: datetime) -> dict:
    """The fields an event changes: the one fold rule, for `evolve` (one `replace`) and `Draft`.

    An event that takes a running job out of `running` ends its attempt: a phase still
    running then is interrupted.
    """
    changes = _event_changes(job, e, at)
    status = changes.get("status")
    if status not in (None, Status.RUNNING) and any(p.status is PhaseStatus.RUNNING for p in job.phases):
        changes["phases"] = tuple(
            replace(p, status=PhaseStatus.INTERRUPTED, finished_at=at) if p.status is PhaseStatus.RUNNING else p
            for p in job.phases
        )
    return changes


def _event_changes(job: Job, e: events.Event, at: datetime) -> dict:
    match e:  # cases are tried in order: the most frequent event first
        case events.ProgressReported():
            return dict(progress=Progress(e.percent, e.message, e.details, at))
        case events.JobStarted():  # a new attempt starts its phases and progress afresh
            return dict(
                status=Status.RUNNING,
                attempts=e.attempt,
                started_at=at,
                finished_at=None,
                worker_id=e.worker_id,
                lease_token_hash=e.lease_token_hash,
                lease_expires_at=e.lease_expires_at,
                phases=tuple(Phase(p.name) for p in job.phases),
                progress=None,
            )
        case events.LeaseExtended():
            return dict(lease_expires_at=e.lease_expires_at)
        case events.LeaseExpired():
            return dict(_NO_LEASE)
        case events.JobReleased():  # the attempt is given back: the next claim is the same attempt again
            return dict(status=Status.QUEUED, attempts=e.attempt - 1, run_at=None, worker_id=None, **_NO_LEASE)
        case events.RetryScheduled():
            max_attempts = max(job.max_attempts, job.attempts + 1) if e.manual else job.max_attempts
            return dict(
                status=Status.QUEUED, run_at=e.run_at, error=e.error, finished_at=None,
                max_attempts=max_attempts, worker_id=None, **_NO_LEASE,
            )
        case events.CancellationRequested():
            return dict(cancel_requested=True, cancel_reason=e.reason, cancelled_by=e.cancelled_by)
        case events.ArtifactAdded():
            artifact = Artifact(e.name, e.content_type, e.size, at, job.version + 1)
            return dict(artifacts=tuple(a for a in job.artifacts if a.name != e.name) + (artifact,))
        case events.PhaseStarted():
            return dict(phases=_with_phase(job, e.phase, status=PhaseStatus.RUNNING, started_at=at))
        case events.PhaseCompleted():
            phases = _with_phase(
                job, e.phase, status=PhaseStatus.COMPLETED, finished_at=at, result=e.result, confidence=e.confidence
            )
            return dict(phases=phases)
        case events.PhaseFailed():
            return dict(phases=_with_phase(job, e.phase, status=PhaseStatus.FAILED, finished_at=at, error=e.error))
        case events.JobCompleted():  # an earlier attempt's error is history (its events), not the outcome
            return dict(status=Status.COMPLETED, result=e.result, error=None, finished_at=at, **_NO_LEASE)
        case events.JobFailed():
            return dict(status=Status.FAILED, error=e.error, finished_at=at, **_NO_LEASE)
        case events.JobCancelled():
            return dict(
                status=Status.CANCELLED,
                finished_at=at,
                cancel_reason=e.reason,
                cancelled_by=e.cancelled_by,
                **_NO_LEASE,
            )
        case events.JobExpired():
            return dict(status=Status.EXPIRED, finished_at=at, **_NO_LEASE)
        case events.JobErased():
            return dict(
                payload=None, metadata={}, result=None, error=None, progress=None, artifacts=(), cancel_reason=None,
                idempotency_key=None, phases=tuple(replace(p, result=None, error=None) for p in job.phases), erased_at=at,
            )
        case events.ChildAdded():
            return dict(children=job.children + 1)
        case events.DependencyResolved():
            return dict(waiting_on=tuple(p for p in job.waiting_on if str(p) != e.parent))
        case events.DependenciesMet():
            return dict(status=Status.QUEUED)
        case events.JobCreated():
            raise ValueError("JobCreated applied to an existing job")
    raise TypeError(f"no evolve rule for {type(e).__name__}")


def _first(event: events.Event, at: datetime, job_id: UUID | None) -> dict:
    if isinstance(event, events.JobCreated):
        if job_id is None:
            raise ValueError("JobCreated needs the job id")
        return _created(job_id, event, at)
    raise ValueError(f"{event.type} applied before JobCreated")


def evolve(job: Job | None, event: events.Event, at: datetime, job_id: UUID | None = None) -> Job:
    """Apply one event recorded at `at` to the job state (None before JobCreated)."""
    if job is None:
        return Job(**_first(event, at, job_id))
    changes = _changes(job, event, at)
    changes["version"], changes["updated_at"] = job.version + 1, at
    return _replace(job, changes)


_FIELDS = tuple(f.name for f in fields(Job))
_INDEX = {name: i for i, name in enumerate(_FIELDS)}
_values = attrgetter(*_FIELDS)
# each slot's own setter: a frozen Job refuses __setattr__, and its __init__ goes around it too
_SETTERS = tuple(getattr(Job, name).__set__ for name in _FIELDS)


def _replace(job: Job, changes: dict) -> Job:
    """`dataclasses.replace(job, **changes)` at under half the cost: evolve makes one Job per event."""
    values = list(_values(job))
    for name, value in changes.items():
        values[_INDEX[name]] = value
    return _made(values)


def from_fields(values: dict[str, Any]) -> Job:
    """`Job(**values)`, at about two thirds of the cost when `values` names every field in
    declaration order (as the job document's reader does: a Job per claim and per load)."""
    if tuple(values) != _FIELDS:
        return Job(**values)
    return _made(values.values())


def _made(values: Iterable[Any]) -> Job:
    job = object.__new__(Job)
    for set_slot, value in zip(_SETTERS, values):
        set_slot(job, value)
    return job


_DEFAULTS = {f.name: f.default for f in fields(Job) if f.default is not MISSING}


class Draft:
    """A job folded in place, for folding many events of many jobs (a rebuild): the same
    rules as `evolve` (`_first`, `_changes`), without a new frozen Job per event."""

    def __init__(self, event: events.Event, at: datetime, job_id: UUID) -> None:
        """The draft of a job from its first event (JobCreated) recorded at `at`."""
        self.__dict__.update(_DEFAULTS)
        self.__dict__.update(_first(event, at, job_id))

    def apply(self, event: events.Event, at: datetime) -> None:
        """Apply one event recorded at `at`, as `evolve` would."""
        self.__dict__.update(_changes(self, event, at))
        self.version += 1
        self.updated_at = at

    def job(self) -> Job:
        return Job(**self.__dict__)


def fold(job: Job | None, new_events: list[events.Event], at: datetime, job_id: UUID | None = None) -> Job:
    """Apply several events recorded together at `at`."""
    for event in new_events:
        job = evolve(job, event, at, job_id)
    assert job is not None
    return job
