"""Commands: what a caller asks for, in the imperative. Validated input only."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from jobledger.domain.events import JSON
from jobledger.domain.job import Dependency

DEFAULT_EXPIRES_IN = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Command:
    trigger: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class WorkerReport(Command):
    """A report that a worker makes under its lease (or a tracking client without one)."""

    lease_token_hash: str | None = field(default=None, kw_only=True)


@dataclass(frozen=True, slots=True)
class CreateJob(Command):
    type: str
    tenant: str = "default"
    user: str | None = None  # the signed-in user who creates it (a JWT's user claim), never the body's
    payload: JSON = None
    metadata: dict[str, JSON] = field(default_factory=dict)
    phases: tuple[str, ...] = ()
    priority: int = 0
    max_attempts: int = 1
    run_at: datetime | None = None
    expires_in: timedelta = DEFAULT_EXPIRES_IN
    idempotency_key: str | None = None
    request_hash: str | None = None
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 300.0
    message: str | None = None  # shown as the job's progress from the start ("waiting for upload")
    depends_on: tuple[Dependency, ...] = ()  # its parents: it waits until they end (domain/dependencies.py)


@dataclass(frozen=True, slots=True)
class StartJob(Command):
    trigger: ClassVar[str] = "start"


@dataclass(frozen=True, slots=True)
class ReportProgress(WorkerReport):
    """Progress of a running job (a percent), or a message while a queued job waits (no percent:
    a queued job does not look started)."""

    trigger: ClassVar[str] = "progress"
    percent: float | None
    message: str | None = None
    details: JSON = None


@dataclass(frozen=True, slots=True)
class StartPhase(WorkerReport):
    trigger: ClassVar[str] = "report"
    phase: str


@dataclass(frozen=True, slots=True)
class CompletePhase(WorkerReport):
    trigger: ClassVar[str] = "report"
    phase: str
    result: JSON = None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class FailPhase(WorkerReport):
    trigger: ClassVar[str] = "report"
    phase: str
    error: JSON = None


@dataclass(frozen=True, slots=True)
class CompleteJob(WorkerReport):
    trigger: ClassVar[str] = "complete"
    result: JSON = None


@dataclass(frozen=True, slots=True)
class FailJob(WorkerReport):
    trigger: ClassVar[str] = "fail"
    error: JSON = None
    retryable: bool = False
    jitter: float = 1.0  #: in [0, 1]: where in the backoff window the retry lands


@dataclass(frozen=True, slots=True)
class CancelJob(Command):
    trigger: ClassVar[str] = "cancel"
    reason: str | None = None
    cancelled_by: str | None = None


@dataclass(frozen=True, slots=True)
class EraseJob(Command):
    """Erase a finished job's data (domain/erasure.py); a job already erased is left as it is."""

    trigger: ClassVar[str] = "erase"
    reason: str | None = None
    erased_by: str | None = None


@dataclass(frozen=True, slots=True)
class ExpireJob(Command):
    trigger: ClassVar[str] = "expire"


@dataclass(frozen=True, slots=True)
class ClaimJob(Command):
    trigger: ClassVar[str] = "start"
    worker_id: str
    lease_token_hash: str
    lease_seconds: float


@dataclass(frozen=True, slots=True)
class Heartbeat(WorkerReport):
    trigger: ClassVar[str] = "heartbeat"
    lease_seconds: float


@dataclass(frozen=True, slots=True)
class AddArtifact(WorkerReport):
    trigger: ClassVar[str] = "report"
    name: str
    content_type: str
    data: JSON
    size: int


@dataclass(frozen=True, slots=True)
class ReleaseJob(WorkerReport):
    """The worker gives its job back unfinished (it is shutting down): queued again at once, and
    the attempt does not count."""

    trigger: ClassVar[str] = "release"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ExpireLease(Command):
    trigger: ClassVar[str] = "lose_lease"
    jitter: float = 1.0


@dataclass(frozen=True, slots=True)
class RetryJob(Command):
    trigger: ClassVar[str] = "requeue"
    requested_by: str | None = None
