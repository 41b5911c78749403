"""Every job status against every command: the exact events, or IllegalTransition."""

import itertools

import pytest

from domain import commands, errors, events, machine
from domain.decide import decide
from domain.status import PhaseStatus, Status
from tests.domain import builders

Q, R, C, F, X, E = Status.QUEUED, Status.RUNNING, Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.EXPIRED

COMMANDS = {
    "StartJob": commands.StartJob(),
    "ReportProgress": commands.ReportProgress(percent=42.5, message="halfway", details={"rows": 10}),
    "StartPhase": commands.StartPhase(phase="research"),
    "CompletePhase": commands.CompletePhase(phase="research", result={"sources": 3}, confidence=0.8),
    "FailPhase": commands.FailPhase(phase="research", error={"code": "timeout"}),
    "CompleteJob": commands.CompleteJob(result={"url": "s3://out"}),
    "FailJob": commands.FailJob(error={"code": "crash"}),
    "CancelJob": commands.CancelJob(reason="stop", cancelled_by="bob"),
    "ExpireJob": commands.ExpireJob(),
}

TRANSITION_NAMES = {
    "StartJob": "start",
    "ReportProgress": "report",
    "StartPhase": "start phase",
    "CompletePhase": "complete phase",
    "FailPhase": "fail phase",
    "CompleteJob": "complete",
    "FailJob": "fail",
    "CancelJob": "cancel",
    "ExpireJob": "expire",
}

# A running job needs its phase started before the phase can complete or fail.
RUNNING_SETUP = {
    "CompletePhase": (commands.StartPhase(phase="research"),),
    "FailPhase": (commands.StartPhase(phase="research"),),
}

LEGAL = {
    (Q, "StartJob"): [events.JobStarted(attempt=1)],
    (Q, "CancelJob"): [events.JobCancelled(reason="stop", cancelled_by="bob")],
    (Q, "ExpireJob"): "expired",
    (R, "ReportProgress"): [events.ProgressReported(percent=42.5, message="halfway", details={"rows": 10})],
    (R, "StartPhase"): [events.PhaseStarted(phase="research")],
    (R, "CompletePhase"): [events.PhaseCompleted(phase="research", result={"sources": 3}, confidence=0.8)],
    (R, "FailPhase"): [events.PhaseFailed(phase="research", error={"code": "timeout"})],
    (R, "CompleteJob"): [events.JobCompleted(result={"url": "s3://out"})],
    (R, "FailJob"): [events.JobFailed(error={"code": "crash"})],
    (R, "CancelJob"): [events.JobCancelled(reason="stop", cancelled_by="bob")],
    (R, "ExpireJob"): "expired",
}

JOB_MACHINE = {
    (Q, "start"): R,
    (Q, "cancel"): X,
    (Q, "expire"): E,
    (R, "report"): R,
    (R, "complete"): C,
    (R, "fail"): F,
    (R, "cancel"): X,
    (R, "expire"): E,
}

PHASE_MACHINE = {
    (PhaseStatus.PENDING, "start"): PhaseStatus.RUNNING,
    (PhaseStatus.RUNNING, "complete"): PhaseStatus.COMPLETED,
    (PhaseStatus.RUNNING, "fail"): PhaseStatus.FAILED,
}

JOB_TRIGGERS = ("start", "report", "complete", "fail", "cancel", "expire")
PHASE_TRIGGERS = ("start", "complete", "fail")


def _expected(status: Status, name: str, job) -> list[events.Event] | None:
    expected = LEGAL.get((status, name))
    if expected == "expired":
        return [events.JobExpired(expires_at=job.expires_at)]
    return expected


def test_the_tables_cover_every_status_and_command():
    assert set(Status) == {Q, R, C, F, X, E}
    assert {type(c).__name__ for c in COMMANDS.values()} == set(COMMANDS)
    assert set(machine.JOB_TRIGGERS) == set(JOB_TRIGGERS)
    assert set(machine.PHASE_TRIGGERS) == set(PHASE_TRIGGERS)


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
@pytest.mark.parametrize("name", list(COMMANDS))
def test_decide_on_every_status_and_command(status: Status, name: str):
    job = builders.in_status(status, *RUNNING_SETUP.get(name, ()))
    assert job.status is status
    expected = _expected(status, name, job)
    if expected is not None:
        assert decide(job, COMMANDS[name], builders.AFTER_EXPIRY) == expected
        return
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, COMMANDS[name], builders.AFTER_EXPIRY)
    assert refused.value.details == {
        "job_id": str(job.id),
        "status": status.value,
        "transition": TRANSITION_NAMES[name],
        "version": job.version,
    }
    assert refused.value.message == f"cannot {TRANSITION_NAMES[name]} a job that is {status.value}"


@pytest.mark.parametrize(("status", "trigger"), list(itertools.product(Status, JOB_TRIGGERS)))
def test_job_machine_table(status: Status, trigger: str):
    if (status, trigger) in JOB_MACHINE:
        assert machine.job_next(status, trigger) is JOB_MACHINE[status, trigger]
    else:
        with pytest.raises(machine.Refused):
            machine.job_next(status, trigger)


@pytest.mark.parametrize(("status", "trigger"), list(itertools.product(PhaseStatus, PHASE_TRIGGERS)))
def test_phase_machine_table(status: PhaseStatus, trigger: str):
    if (status, trigger) in PHASE_MACHINE:
        assert machine.phase_next(status, trigger) is PHASE_MACHINE[status, trigger]
    else:
        with pytest.raises(machine.Refused):
            machine.phase_next(status, trigger)


def test_an_unknown_trigger_is_refused():
    with pytest.raises(machine.Refused):
        machine.job_next(Status.RUNNING, "resurrect")


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
def test_terminal_statuses(status: Status):
    assert status.terminal is (status in {C, F, X, E})
