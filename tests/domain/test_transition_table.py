"""Every job status against every command: the exact events, IllegalTransition, or LeaseLost."""

import itertools
from datetime import timedelta

import pytest

from jobledger.domain import commands, errors, events, machine
from jobledger.domain.decide import decide
from jobledger.domain.status import PhaseStatus, Status
from tests.domain import builders

W = Status.WAITING
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
    "ClaimJob": commands.ClaimJob(worker_id="w-9", lease_token_hash="hash-9", lease_seconds=30),
    "Heartbeat": commands.Heartbeat(lease_seconds=45),
    "AddArtifact": commands.AddArtifact(name="report.pdf", content_type="application/pdf", data="JVBERi0=", size=5),
    "ExpireLease": commands.ExpireLease(jitter=0.5),
    "RetryJob": commands.RetryJob(requested_by="ops"),
    "ReleaseJob": commands.ReleaseJob(reason="shutting down"),
    "EraseJob": commands.EraseJob(reason="the customer asked", erased_by="key:k1"),
}

TRANSITION_NAMES = {
    "StartJob": "start",
    "ReportProgress": "progress",
    "StartPhase": "start phase",
    "CompletePhase": "complete phase",
    "FailPhase": "fail phase",
    "CompleteJob": "complete",
    "FailJob": "fail",
    "CancelJob": "cancel",
    "ExpireJob": "expire",
    "ClaimJob": "start",
    "Heartbeat": "heartbeat",
    "AddArtifact": "report",
    "ExpireLease": "lose_lease",
    "RetryJob": "requeue",
    "ReleaseJob": "release",
    "EraseJob": "erase",
}

# A running job needs its phase started before the phase can complete or fail.
RUNNING_SETUP = {
    "CompletePhase": (commands.StartPhase(phase="research"),),
    "FailPhase": (commands.StartPhase(phase="research"),),
}

NOW = builders.AFTER_EXPIRY

LEGAL = {
    (Q, "StartJob"): [events.JobStarted(attempt=1)],
    (Q, "ClaimJob"): [
        events.JobStarted(
            attempt=1, worker_id="w-9", lease_token_hash="hash-9", lease_expires_at=NOW + timedelta(seconds=30)
        )
    ],
    (Q, "CancelJob"): [events.JobCancelled(reason="stop", cancelled_by="bob")],
    (Q, "ExpireJob"): "expired",
    (W, "CancelJob"): [events.JobCancelled(reason="stop", cancelled_by="bob")],
    (W, "ExpireJob"): "expired",
    (R, "ReportProgress"): [events.ProgressReported(percent=42.5, message="halfway", details={"rows": 10})],
    (R, "StartPhase"): [events.PhaseStarted(phase="research")],
    (R, "CompletePhase"): [events.PhaseCompleted(phase="research", result={"sources": 3}, confidence=0.8)],
    (R, "FailPhase"): [events.PhaseFailed(phase="research", error={"code": "timeout"})],
    (R, "CompleteJob"): [events.JobCompleted(result={"url": "s3://out"})],
    (R, "FailJob"): [events.JobFailed(error={"code": "crash"})],
    (R, "CancelJob"): [events.JobCancelled(reason="stop", cancelled_by="bob")],
    (R, "ExpireJob"): "expired",
    (R, "AddArtifact"): [
        events.ArtifactAdded(name="report.pdf", content_type="application/pdf", data="JVBERi0=", size=5)
    ],
    (F, "RetryJob"): [
        events.RetryScheduled(attempt=1, run_at=NOW, error={"code": "boom"}, manual=True, requested_by="ops")
    ],
    **{(s, "EraseJob"): [events.JobErased(reason="the customer asked", erased_by="key:k1")] for s in (C, F, X, E)},
}

# Refused with a reason of its own rather than "cannot <transition> a job that is <status>". A
# queued job's progress is a message, never a percent: a legal transition refused for one field of
# its command in this status, naming the field (the message form is legal: test_a_queued_job_reports_a_message).
REASONS = {
    (R, "ExpireLease"): "the job holds no lease",
    (Q, "ReportProgress"): "percent: a queued job reports a message, not a percent: send percent once it runs",
}

# These jobs were never leased: a heartbeat has no lease to extend, a release none to give back.
NO_LEASE = {(status, name) for status in Status for name in ("Heartbeat", "ReleaseJob")}

JOB_MACHINE = {
    (W, "cancel"): X,
    (W, "expire"): E,
    (W, "adopt"): W,
    (Q, "adopt"): Q,
    (R, "adopt"): R,
    (W, "resolve"): W,
    (W, "unblock"): Q,
    (Q, "start"): R,
    (Q, "cancel"): X,
    (Q, "expire"): E,
    (Q, "progress"): Q,
    (R, "progress"): R,
    (R, "report"): R,
    (R, "heartbeat"): R,
    (R, "lose_lease"): Q,
    (R, "release"): Q,
    (R, "complete"): C,
    (R, "fail"): F,
    (R, "cancel"): X,
    (R, "expire"): E,
    (F, "requeue"): Q,
    (C, "erase"): C,
    (F, "erase"): F,
    (X, "erase"): X,
    (E, "erase"): E,
}

PHASE_MACHINE = {
    (PhaseStatus.PENDING, "start"): PhaseStatus.RUNNING,
    (PhaseStatus.RUNNING, "complete"): PhaseStatus.COMPLETED,
    (PhaseStatus.RUNNING, "fail"): PhaseStatus.FAILED,
}

JOB_TRIGGERS = (
    "start", "progress", "report", "heartbeat", "complete", "fail", "lose_lease", "release", "cancel", "expire",
    "requeue", "erase", *("adopt", "resolve", "unblock"),
)
# decided by a parent's end or a child's creation (domain/dependencies.py), never by a command
DEPENDENCY_TRIGGERS = {"adopt", "resolve", "unblock"}
PHASE_TRIGGERS = ("start", "complete", "fail")


def _expected(status: Status, name: str, job) -> list[events.Event] | None:
    expected = LEGAL.get((status, name))
    if expected == "expired":
        return [events.JobExpired(expires_at=job.expires_at)]
    return expected


def _is_command(cls) -> bool:
    return isinstance(cls, type) and issubclass(cls, commands.Command) and bool(cls.trigger)


def test_the_tables_cover_every_status_and_command():
    assert set(Status) == {W, Q, R, C, F, X, E}
    assert {type(c).__name__ for c in COMMANDS.values()} == set(COMMANDS)
    assert set(machine.JOB_TRIGGERS) == set(JOB_TRIGGERS)
    assert {name for name, cls in vars(commands).items() if _is_command(cls)} == set(COMMANDS)
    assert {c.trigger for c in COMMANDS.values()} == set(JOB_TRIGGERS) - DEPENDENCY_TRIGGERS
    assert set(machine.PHASE_TRIGGERS) == set(PHASE_TRIGGERS)


@pytest.mark.parametrize("status", list(Status), ids=lambda s: s.value)
@pytest.mark.parametrize("name", list(COMMANDS))
def test_decide_on_every_status_and_command(status: Status, name: str):
    job = builders.in_status(status, *RUNNING_SETUP.get(name, ()))
    assert job.status is status
    expected = _expected(status, name, job)
    if expected is not None:
        assert decide(job, COMMANDS[name], NOW) == expected
        return
    if (status, name) in NO_LEASE:
        with pytest.raises(errors.LeaseLost) as lost:
            decide(job, COMMANDS[name], NOW)
        assert lost.value.details == {"job_id": str(job.id), "status": status.value, "version": job.version}
        assert lost.value.message == "the job is not held under a lease"
        return
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, COMMANDS[name], NOW)
    assert refused.value.details == {
        "job_id": str(job.id),
        "status": status.value,
        "transition": TRANSITION_NAMES[name],
        "version": job.version,
        "phase": None,
        "phase_status": None,
    }
    reason = REASONS.get((status, name), f"cannot {TRANSITION_NAMES[name]} a job that is {status.value}")
    assert refused.value.message == reason


def test_a_queued_job_reports_a_message_and_stays_queued():
    job = builders.in_status(Q)
    waiting = commands.ReportProgress(percent=None, message="waiting for a slot", details={"ahead": 4})
    assert decide(job, waiting, NOW) == [events.ProgressReported(None, "waiting for a slot", {"ahead": 4})]


@pytest.mark.parametrize(
    ("status", "report", "field"),
    [
        (Q, commands.ReportProgress(percent=None, details={"ahead": 4}), "message"),
        (R, commands.ReportProgress(percent=None, message="no percent"), "percent"),
    ],
    ids=["queued without message", "running without percent"],
)
def test_progress_without_its_status_field_is_refused(status: Status, report, field: str):
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(builders.in_status(status), report, NOW)
    assert (refused.value.details["status"], refused.value.details["transition"]) == (status.value, "progress")
    assert refused.value.message.startswith(f"{field}: ")


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
