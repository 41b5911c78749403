"""Jobs built the way the service builds them: decide on a command, then fold its events."""

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import UUID

from jobledger.domain import commands, job
from jobledger.domain.decide import create, decide
from jobledger.domain.status import Status

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
JOB_ID = UUID("00000000-0000-4000-8000-000000000001")
PARENT_ID = UUID("00000000-0000-4000-8000-0000000000aa")
PHASES = ("research", "audit")
EXPIRES_IN = timedelta(hours=24)
AFTER_EXPIRY = T0 + EXPIRES_IN + timedelta(minutes=1)

WORKER = "worker-1"
TOKEN = "sha256:token-of-worker-1"  # what decide sees: the hash of the lease token
OTHER_TOKEN = "sha256:token-of-worker-2"
LEASE_SECONDS = 600.0  # long enough for `run`'s one-minute steps


# Every command a worker sends under its lease; the phase reports need their phase started first.
REPORTS = {
    "ReportProgress": commands.ReportProgress(percent=60, message="most", details={"rows": 6}),
    "StartPhase": commands.StartPhase(phase="research"),
    "CompletePhase": commands.CompletePhase(phase="research", result={"n": 1}, confidence=0.5),
    "FailPhase": commands.FailPhase(phase="research", error={"code": "bad"}),
    "CompleteJob": commands.CompleteJob(result={"url": "s3://out"}),
    "FailJob": commands.FailJob(error={"code": "crash"}),
    "Heartbeat": commands.Heartbeat(lease_seconds=90),
    "AddArtifact": commands.AddArtifact(name="log", content_type="text/plain", data="ok", size=2),
    "ReleaseJob": commands.ReleaseJob(reason="shutting down"),
}
REPORT_SETUP = {
    "CompletePhase": (commands.StartPhase(phase="research"),),
    "FailPhase": (commands.StartPhase(phase="research"),),
}


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
        case Status.WAITING:  # a parent that has not ended
            return created(depends_on=(job.Dependency(PARENT_ID),))
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


def claim(worker: str = WORKER, token: str = TOKEN, lease_seconds: float = LEASE_SECONDS) -> commands.ClaimJob:
    return commands.ClaimJob(worker_id=worker, lease_token_hash=token, lease_seconds=lease_seconds)


def as_worker(command: commands.WorkerReport, token: str | None = TOKEN) -> commands.WorkerReport:
    """The same report, sent under the lease `token`."""
    return dataclasses.replace(command, lease_token_hash=token)


def claimed(*steps: commands.Command, phases: tuple[str, ...] = PHASES, **fields) -> job.Job:
    """A job claimed by WORKER under TOKEN; worker reports among `steps` are sent under TOKEN."""
    signed = [as_worker(s) if isinstance(s, commands.WorkerReport) else s for s in steps]
    return run(created(phases, **fields), claim(), *signed)


def leased_in_status(status: Status) -> job.Job:
    """A job in `status` whose (last) attempt was claimed by a worker under a lease."""
    match status:
        case Status.QUEUED:
            return claimed(commands.FailJob(error={"code": "flaky"}, retryable=True), max_attempts=2)
        case Status.RUNNING:
            return claimed()
        case Status.COMPLETED:
            return claimed(commands.CompleteJob(result={"ok": True}))
        case Status.FAILED:
            return claimed(commands.FailJob(error={"code": "boom"}))
        case Status.CANCELLED:
            return claimed(commands.CancelJob(reason="stop", cancelled_by="alice"), commands.Heartbeat(LEASE_SECONDS))
        case Status.EXPIRED:
            return apply(claimed(), commands.ExpireJob(), AFTER_EXPIRY)
    raise AssertionError(f"no history for {status}")
