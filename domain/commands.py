"""Commands: what a caller asks for, in the imperative. Validated input only."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from domain.events import JSON

DEFAULT_EXPIRES_IN = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Command:
    trigger: ClassVar[str] = ""


@dataclass(frozen=True, slots=True)
class CreateJob(Command):
    type: str
    tenant: str = "default"
    payload: JSON = None
    metadata: dict[str, JSON] = field(default_factory=dict)
    phases: tuple[str, ...] = ()
    priority: int = 0
    max_attempts: int = 1
    run_at: datetime | None = None
    expires_in: timedelta = DEFAULT_EXPIRES_IN
    idempotency_key: str | None = None
    request_hash: str | None = None


@dataclass(frozen=True, slots=True)
class StartJob(Command):
    trigger: ClassVar[str] = "start"


@dataclass(frozen=True, slots=True)
class ReportProgress(Command):
    trigger: ClassVar[str] = "report"
    percent: float | None
    message: str | None = None
    details: JSON = None


@dataclass(frozen=True, slots=True)
class StartPhase(Command):
    trigger: ClassVar[str] = "report"
    phase: str


@dataclass(frozen=True, slots=True)
class CompletePhase(Command):
    trigger: ClassVar[str] = "report"
    phase: str
    result: JSON = None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class FailPhase(Command):
    trigger: ClassVar[str] = "report"
    phase: str
    error: JSON = None


@dataclass(frozen=True, slots=True)
class CompleteJob(Command):
    trigger: ClassVar[str] = "complete"
    result: JSON = None


@dataclass(frozen=True, slots=True)
class FailJob(Command):
    trigger: ClassVar[str] = "fail"
    error: JSON = None


@dataclass(frozen=True, slots=True)
class CancelJob(Command):
    trigger: ClassVar[str] = "cancel"
    reason: str | None = None
    cancelled_by: str | None = None


@dataclass(frozen=True, slots=True)
class ExpireJob(Command):
    trigger: ClassVar[str] = "expire"
