"""decide: given the current job and a command, the events to record, or an error."""

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from domain import commands, errors, events, machine
from domain.job import Job
from domain.status import PhaseStatus

PHASE_TRIGGER = {
    commands.StartPhase: "start",
    commands.CompletePhase: "complete",
    commands.FailPhase: "fail",
}


def create(job_id: UUID, command: commands.CreateJob, now: datetime) -> list[events.Event]:
    """The events that create a job."""
    return [
        events.JobCreated(
            job_type=command.type,
            tenant=command.tenant,
            payload=command.payload,
            metadata=command.metadata,
            phases=command.phases,
            priority=command.priority,
            max_attempts=command.max_attempts,
            run_at=command.run_at,
            expires_at=now + command.expires_in,
            idempotency_key=command.idempotency_key,
            request_hash=command.request_hash,
        )
    ]


def decide(job: Job, command: commands.Command, now: datetime) -> list[events.Event]:
    """The events that `command` records on `job`; raises if the transition is illegal."""
    try:
        machine.job_next(job.status, command.trigger)
    except machine.Refused:
        raise errors.IllegalTransition(job.id, job.status.value, _name(command), version=job.version) from None
    if type(command) in PHASE_TRIGGER:
        _check_phase(job, command)
    return _DECIDERS[type(command)](job, command, now)


def _name(command: commands.Command) -> str:
    trigger = PHASE_TRIGGER.get(type(command))
    return f"{trigger} phase" if trigger else command.trigger


def _check_phase(job: Job, command) -> None:
    phase = job.phase(command.phase)
    if phase is None:
        raise errors.PhaseNotFound(f"job has no phase {command.phase!r}", phase=command.phase, phases=[p.name for p in job.phases])
    trigger = PHASE_TRIGGER[type(command)]
    try:
        machine.phase_next(phase.status, trigger)
    except machine.Refused:
        raise _phase_refused(job, phase.name, phase.status.value, trigger) from None
    if trigger == "start":
        earlier = job.phases[: job.phases.index(phase)]
        unfinished = [p.name for p in earlier if p.status is not PhaseStatus.COMPLETED]
        if unfinished:
            raise _phase_refused(job, phase.name, phase.status.value, trigger, f"phase {unfinished[0]!r} must complete first")


def _phase_refused(job: Job, name: str, status: str, trigger: str, why: str | None = None) -> errors.IllegalTransition:
    reason = f"cannot {trigger} phase {name!r}: " + (why or f"it is {status}")
    return errors.IllegalTransition(
        job.id, job.status.value, f"{trigger} phase", reason, phase=name, phase_status=status, version=job.version
    )


def _start(job: Job, command: commands.StartJob, now: datetime) -> list[events.Event]:
    return [events.JobStarted(attempt=job.attempts + 1)]


def _progress(job: Job, c: commands.ReportProgress, now: datetime) -> list[events.Event]:
    return [events.ProgressReported(percent=c.percent, message=c.message, details=c.details)]


def _complete(job: Job, c: commands.CompleteJob, now: datetime) -> list[events.Event]:
    running = [p.name for p in job.phases if p.status is PhaseStatus.RUNNING]
    if running:
        reason = f"cannot complete the job while phase {running[0]!r} is running"
        raise errors.IllegalTransition(job.id, job.status.value, "complete", reason, phase=running[0], version=job.version)
    return [events.JobCompleted(result=c.result)]


def _expire(job: Job, c: commands.ExpireJob, now: datetime) -> list[events.Event]:
    if now < job.expires_at:
        reason = f"the job expires at {job.expires_at.isoformat()}"
        raise errors.IllegalTransition(job.id, job.status.value, "expire", reason, version=job.version)
    return [events.JobExpired(expires_at=job.expires_at)]


_DECIDERS: dict[type, Callable[..., list[events.Event]]] = {
    commands.StartJob: _start,
    commands.ReportProgress: _progress,
    commands.StartPhase: lambda job, c, now: [events.PhaseStarted(phase=c.phase)],
    commands.CompletePhase: lambda job, c, now: [
        events.PhaseCompleted(phase=c.phase, result=c.result, confidence=c.confidence)
    ],
    commands.FailPhase: lambda job, c, now: [events.PhaseFailed(phase=c.phase, error=c.error)],
    commands.CompleteJob: _complete,
    commands.FailJob: lambda job, c, now: [events.JobFailed(error=c.error)],
    commands.CancelJob: lambda job, c, now: [events.JobCancelled(reason=c.reason, cancelled_by=c.cancelled_by)],
    commands.ExpireJob: _expire,
}
