"""Expiry against the clock passed in, and decide as a pure function of its inputs."""

import copy
import itertools
from datetime import timedelta

import pytest

from jobledger.domain import commands, errors, events
from jobledger.domain.decide import decide
from jobledger.domain.job import fold
from jobledger.domain.status import Status
from tests.domain import builders

MICROSECOND = timedelta(microseconds=1)


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING], ids=lambda s: s.value)
@pytest.mark.parametrize("early", [MICROSECOND, timedelta(hours=23)], ids=["just before", "long before"])
def test_expire_before_expires_at_is_refused(status: Status, early: timedelta):
    job = builders.in_status(status)
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, commands.ExpireJob(), job.expires_at - early)
    assert refused.value.details == {
        "job_id": str(job.id),
        "status": status.value,
        "transition": "expire",
        "version": job.version,
        "phase": None,
        "phase_status": None,
    }
    assert refused.value.message == f"the job expires at {job.expires_at.isoformat()}"


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING], ids=lambda s: s.value)
@pytest.mark.parametrize(
    "late", [timedelta(0), MICROSECOND, timedelta(days=30)], ids=["at", "just after", "long after"]
)
def test_expire_from_expires_at_records_job_expired(status: Status, late: timedelta):
    job = builders.in_status(status, commands.StartPhase(phase="research"))
    at = job.expires_at + late
    recorded = decide(job, commands.ExpireJob(), at)
    assert recorded == [events.JobExpired(expires_at=job.expires_at)]
    expired = fold(job, recorded, at)
    assert expired.status is Status.EXPIRED
    assert expired.finished_at == at
    assert expired.lease_expires_at is None
    assert expired.expires_at == job.expires_at


def test_expires_at_is_the_creation_time_plus_expires_in():
    job = builders.created(at=builders.T0, expires_in=timedelta(minutes=90))
    assert job.expires_at == builders.T0 + timedelta(minutes=90)
    with pytest.raises(errors.IllegalTransition):
        decide(job, commands.ExpireJob(), builders.T0 + timedelta(minutes=89))
    assert decide(job, commands.ExpireJob(), builders.T0 + timedelta(minutes=90)) == [
        events.JobExpired(expires_at=job.expires_at)
    ]


MUTABLE_COMMANDS = [
    commands.StartJob(),
    commands.ReportProgress(percent=10, message="m", details={"seen": [1, 2]}),
    commands.ReportProgress(percent=None, message="waiting for a slot", details={"ahead": [4]}),
    commands.StartPhase(phase="research"),
    commands.StartPhase(phase="nope"),
    commands.CompletePhase(phase="research", result={"items": [{"a": 1}]}, confidence=0.5),
    commands.FailPhase(phase="research", error={"trace": ["x"]}),
    commands.CompleteJob(result={"files": ["a.pdf"]}),
    commands.FailJob(error={"code": "E", "context": {"k": [1]}}),
    commands.CancelJob(reason="r", cancelled_by="u"),
    commands.ExpireJob(),
    builders.claim(),
    commands.Heartbeat(lease_seconds=30),
    builders.as_worker(commands.Heartbeat(lease_seconds=30)),
    builders.as_worker(commands.ReportProgress(percent=20, details={"pages": [3]})),
    builders.as_worker(commands.ReportProgress(percent=20), token=builders.OTHER_TOKEN),
    builders.as_worker(commands.AddArtifact("out", "application/json", {"rows": [[1]]}, 12)),
    builders.as_worker(commands.FailJob(error={"code": "E", "context": {"k": [1]}}, retryable=True, jitter=0.3)),
    commands.ExpireLease(jitter=0.25),
    commands.RetryJob(requested_by="ops"),
    commands.ReleaseJob(),
    builders.as_worker(commands.ReleaseJob(reason="shutting down")),
]

RETRIES_LEFT = {"max_attempts": 3}

HISTORIES = {
    "queued": lambda: builders.in_status(Status.QUEUED),
    "running": lambda: builders.in_status(Status.RUNNING),
    "running phase": lambda: builders.in_status(Status.RUNNING, commands.StartPhase(phase="research")),
    "completed": lambda: builders.in_status(Status.COMPLETED),
    "failed": lambda: builders.in_status(Status.FAILED),
    "cancelled": lambda: builders.in_status(Status.CANCELLED),
    "expired": lambda: builders.in_status(Status.EXPIRED),
    "leased": lambda: builders.claimed(**RETRIES_LEFT),
    "leased phase": lambda: builders.claimed(commands.StartPhase(phase="research"), **RETRIES_LEFT),
    "leased cancel requested": lambda: builders.claimed(commands.CancelJob(reason="r"), **RETRIES_LEFT),
    "retry scheduled": lambda: builders.leased_in_status(Status.QUEUED),
    "leased failed": lambda: builders.leased_in_status(Status.FAILED),
    "leased cancelled": lambda: builders.leased_in_status(Status.CANCELLED),
}


def _is_repeated_cancel(job, command) -> bool:
    return isinstance(command, commands.CancelJob) and job.cancel_requested


@pytest.mark.parametrize(("history", "command"), list(itertools.product(HISTORIES, MUTABLE_COMMANDS)))
@pytest.mark.parametrize(
    "now",
    [builders.T0, builders.T0 + timedelta(minutes=3), builders.AFTER_EXPIRY],
    ids=["early", "under the lease", "late"],
)
def test_decide_leaves_its_inputs_alone(history, command, now):
    job = HISTORIES[history]()
    job_before, command_before = copy.deepcopy(job), copy.deepcopy(command)
    try:
        recorded = decide(job, command, now)
    except (errors.IllegalTransition, errors.PhaseNotFound, errors.LeaseLost, errors.InvalidCommand):
        pass
    else:
        assert recorded or _is_repeated_cancel(job, command)
        assert all(isinstance(e, events.Event) for e in recorded)
    assert job == job_before
    assert job.payload == {"pages": [1, 2]} and job.metadata == {"source": {"app": "crm"}}
    assert command == command_before


@pytest.mark.parametrize("history", list(HISTORIES))
@pytest.mark.parametrize("now", [builders.T0 + timedelta(minutes=3), builders.AFTER_EXPIRY], ids=["under", "late"])
def test_deciding_twice_gives_the_same_events(history: str, now):
    job = HISTORIES[history]()
    for command in MUTABLE_COMMANDS:
        try:
            first = decide(job, command, now)
        except errors.JobServiceError as exc:
            with pytest.raises(type(exc)) as again:
                decide(job, command, now)
            assert (again.value.message, again.value.details) == (exc.message, exc.details)
        else:
            assert decide(job, command, now) == first
