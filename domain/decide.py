"""decide: given the current job and a command, the events to record, or an error."""

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from jobledger.domain import commands, errors, events, machine
from jobledger.domain.job import Job
from jobledger.domain.status import PhaseStatus, Status

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
            user=command.user,
            payload=command.payload,
            metadata=command.metadata,
            phases=command.phases,
            priority=command.priority,
            max_attempts=command.max_attempts,
            run_at=command.run_at,
            expires_at=now + command.expires_in,
            idempotency_key=command.idempotency_key,
            request_hash=command.request_hash,
            retry_base_seconds=command.retry_base_seconds,
            retry_max_seconds=command.retry_max_seconds,
            message=command.message,
            depends_on=tuple({"job": str(d.job), "on_failure": d.on_failure} for d in command.depends_on) or None,
        )
    ]


_LEASED_ONLY = (commands.Heartbeat, commands.ReleaseJob)  # a job nobody leased has nothing to extend or give back


def decide(job: Job, command: commands.Command, now: datetime) -> list[events.Event]:
    """The events that `command` records on `job`; raises if the transition is illegal.

    A worker's report is first checked against the lease; once cancellation was
    requested, the worker's next call ends the job cancelled instead.
    """
    if isinstance(command, commands.WorkerReport) and (
        job.leased or command.lease_token_hash is not None or isinstance(command, _LEASED_ONLY)
    ):
        _check_lease(job, command.lease_token_hash, now)
        if job.cancel_requested:
            return [events.JobCancelled(reason=job.cancel_reason, cancelled_by=job.cancelled_by)]
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


def _check_lease(job: Job, token_hash: str | None, now: datetime) -> None:
    if not job.leased:
        reason = "the job is not held under a lease"
    elif token_hash is None:
        reason = "a worker holds this job: send its lease_token"
    elif token_hash != job.lease_token_hash:
        reason = "this lease_token does not hold the job"
    elif now >= job.lease_expires_at:
        reason = f"the lease expired at {job.lease_expires_at.isoformat()}"
    else:
        return  # the details are made only for a refusal: str(job.id) alone costs more than the checks
    raise errors.LeaseLost(reason, job_id=str(job.id), status=job.status.value, version=job.version)


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


def backoff(job: Job, jitter: float) -> timedelta:
    """Exponential backoff for the attempt that just failed; `jitter` in [0, 1] spreads the upper half."""
    doublings = min(max(job.attempts - 1, 0), 60)  # past 2**60 any base is over any sane maximum
    window = min(job.retry_max_seconds, job.retry_base_seconds * 2.0**doublings)
    return timedelta(seconds=window / 2 + window / 2 * min(max(jitter, 0.0), 1.0))


def _retry_or_fail(job: Job, error, jitter: float, now: datetime, retryable: bool = True) -> events.Event:
    if retryable and job.attempts < job.max_attempts:
        return events.RetryScheduled(attempt=job.attempts, run_at=now + backoff(job, jitter), error=error)
    return events.JobFailed(error=error)


def _start(job: Job, command: commands.StartJob, now: datetime) -> list[events.Event]:
    return [events.JobStarted(attempt=job.attempts + 1)]


def _claim(job: Job, c: commands.ClaimJob, now: datetime) -> list[events.Event]:
    if job.run_at is not None and job.run_at > now:
        reason = f"the job runs at {job.run_at.isoformat()}"
        raise errors.IllegalTransition(job.id, job.status.value, "start", reason, version=job.version)
    lease_expires_at = now + timedelta(seconds=c.lease_seconds)
    return [events.JobStarted(job.attempts + 1, c.worker_id, c.lease_token_hash, lease_expires_at)]


def _progress(job: Job, c: commands.ReportProgress, now: datetime) -> list[events.Event]:
    """A running job reports a percent; a queued one a message only, so that nothing about it
    looks started (a percent would draw a progress bar under a job no worker holds). Each rule is
    one of the job's status, so a body that breaks it conflicts with the job (409, naming the
    field), as a transition its status does not allow does; it is not malformed (400)."""
    if job.status is Status.QUEUED and c.percent is not None:
        raise _progress_refused(job, "percent", "a queued job reports a message, not a percent: send percent once it runs")
    if job.status is Status.QUEUED and c.message is None:
        raise _progress_refused(job, "message", "a queued job's progress is a message: it is required while the job waits")
    if job.status is Status.RUNNING and c.percent is None:
        raise _progress_refused(job, "percent", "a running job's progress needs a percent from 0 to 100")
    return [events.ProgressReported(percent=c.percent, message=c.message, details=c.details)]


def _progress_refused(job: Job, field: str, reason: str) -> errors.IllegalTransition:
    return errors.IllegalTransition(job.id, job.status.value, "progress", f"{field}: {reason}", version=job.version)


def _complete(job: Job, c: commands.CompleteJob, now: datetime) -> list[events.Event]:
    running = [p.name for p in job.phases if p.status is PhaseStatus.RUNNING]
    if running:
        reason = f"cannot complete the job while phase {running[0]!r} is running"
        raise errors.IllegalTransition(
            job.id, job.status.value, "complete", reason, phase=running[0], phase_status="running", version=job.version
        )
    return [events.JobCompleted(result=c.result)]


def _fail(job: Job, c: commands.FailJob, now: datetime) -> list[events.Event]:
    return [_retry_or_fail(job, c.error, c.jitter, now, c.retryable)]


def _cancel(job: Job, c: commands.CancelJob, now: datetime) -> list[events.Event]:
    if not job.leased:
        return [events.JobCancelled(reason=c.reason, cancelled_by=c.cancelled_by)]
    if job.cancel_requested:
        return []  # already asked; the worker's next call (or its lease running out) ends it
    return [events.CancellationRequested(reason=c.reason, cancelled_by=c.cancelled_by)]


def _expire(job: Job, c: commands.ExpireJob, now: datetime) -> list[events.Event]:
    if now < job.expires_at:
        reason = f"the job expires at {job.expires_at.isoformat()}"
        raise errors.IllegalTransition(job.id, job.status.value, "expire", reason, version=job.version)
    return [events.JobExpired(expires_at=job.expires_at)]


def _expire_lease(job: Job, c: commands.ExpireLease, now: datetime) -> list[events.Event]:
    if not job.leased or now < job.lease_expires_at:
        reason = "the job holds no lease" if not job.leased else f"the lease runs until {job.lease_expires_at.isoformat()}"
        raise errors.IllegalTransition(job.id, job.status.value, "lose_lease", reason, version=job.version)
    lost = events.LeaseExpired(worker_id=job.worker_id, attempt=job.attempts)
    if job.cancel_requested:
        return [lost, events.JobCancelled(reason=job.cancel_reason, cancelled_by=job.cancelled_by)]
    error = {"code": "lease_expired", "message": f"worker {job.worker_id} stopped answering", "attempt": job.attempts}
    return [lost, _retry_or_fail(job, error, c.jitter, now)]


def _release(job: Job, c: commands.ReleaseJob, now: datetime) -> list[events.Event]:
    return [events.JobReleased(worker_id=job.worker_id, attempt=job.attempts, reason=c.reason)]


def _requeue(job: Job, c: commands.RetryJob, now: datetime) -> list[events.Event]:
    if job.erased_at is not None:
        raise errors.IllegalTransition(job.id, job.status.value, "requeue", "cannot retry a job whose data was erased",
                                       version=job.version)
    return [events.RetryScheduled(attempt=job.attempts, run_at=now, error=job.error, manual=True, requested_by=c.requested_by)]


_DECIDERS: dict[type, Callable[..., list[events.Event]]] = {
    commands.StartJob: _start,
    commands.ClaimJob: _claim,
    commands.ReportProgress: _progress,
    commands.StartPhase: lambda job, c, now: [events.PhaseStarted(phase=c.phase)],
    commands.CompletePhase: lambda job, c, now: [
        events.PhaseCompleted(phase=c.phase, result=c.result, confidence=c.confidence)
    ],
    commands.FailPhase: lambda job, c, now: [events.PhaseFailed(phase=c.phase, error=c.error)],
    commands.AddArtifact: lambda job, c, now: [events.ArtifactAdded(c.name, c.content_type, c.data, c.size)],
    commands.Heartbeat: lambda job, c, now: [events.LeaseExtended(now + timedelta(seconds=c.lease_seconds))],
    commands.CompleteJob: _complete,
    commands.FailJob: _fail,
    commands.CancelJob: _cancel,
    commands.ExpireJob: _expire,
    commands.ExpireLease: _expire_lease,
    commands.ReleaseJob: _release,
    commands.RetryJob: _requeue,
    commands.EraseJob: lambda job, c, now: [] if job.erased_at else [events.JobErased(c.reason, c.erased_by)],
}
