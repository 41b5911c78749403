"""Jobs built the way the service builds them: decide on a command, then fold its events."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain import commands, job
from domain.decide import create, decide
from domain.status import Status

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
JOB_ID = UUID("00000000-0000-4000-8000-000000000001")
PHASES = ("research", "audit")
EXPIRES_IN = timedelta(hours=24)
AFTER_EXPIRY = T0 + EXPIRES_IN + timedelta(minutes=1)


def created(phases: tuple[str, ...] = PHASES, at: datetime = T0, **fields) -> job.Job:
    """A new queued job, folded from the JobCreated that `create` records."""
    defaults = {"payload": {"pages": [1, 2]}, "metadata": {"source": {"app": "crm"}}, "expires_in": EXPIRES_IN}
    command = commands.CreateJob(type="report", phases=phases, **{**defaults, **fields})
    return job.fold(None, create(JOB_ID, command, at), at, JOB_ID)


def apply(current: job.Job, command: commands.Command, at: datetime) -> job.Job:
    """Decide on `command` at `at` and fold the resulting events into `current`."""
    return job.fold(current, decide(current, command, at), at)


def run(current: job.Job, *steps: commands.Command, start: datetime | None = None) -> job.Job:
    """Apply `steps` one minute apart, beginning a minute after `start` (default: updated_at)."""
    at = start or current.updated_at
    for step in steps:
        at += timedelta(minutes=1)
        current = apply(current, step, at)
    return current


def running(*steps: commands.Command, phases: tuple[str, ...] = PHASES) -> job.Job:
    """A started job, with `steps` applied after the start."""
    return run(created(phases), commands.StartJob(), *steps)


def in_status(status: Status, *steps: commands.Command) -> job.Job:
    """A job in `status`; `steps` are applied only to a running job, right after it starts."""
    match status:
        case Status.QUEUED:
            return created()
        case Status.RUNNING:
            return running(*steps)
        case Status.COMPLETED:
            return run(running(), commands.CompleteJob(result={"ok": True}))
        case Status.FAILED:
            return run(running(), commands.FailJob(error={"code": "boom"}))
        case Status.CANCELLED:
            return run(created(), commands.CancelJob(reason="no longer needed", cancelled_by="alice"))
        case Status.EXPIRED:
            return apply(created(), commands.ExpireJob(), AFTER_EXPIRY)
    raise AssertionError(f"no history for {status}")
