"""Phase rules: known phases only, per-phase legality, order, and what folding records."""

from datetime import timedelta

import pytest

from jobledger.domain import commands, errors, events
from jobledger.domain.decide import decide
from jobledger.domain.job import Phase
from jobledger.domain.status import PhaseStatus, Status
from tests.domain import builders

START = commands.StartPhase(phase="research")
COMPLETE = commands.CompletePhase(phase="research", result={"sources": ["a", "b"]}, confidence=0.75)
FAIL = commands.FailPhase(phase="research", error={"code": "rate_limited", "retry_in": 30})

REACH = {
    PhaseStatus.PENDING: (),
    PhaseStatus.RUNNING: (START,),
    PhaseStatus.COMPLETED: (START, COMPLETE),
    PhaseStatus.FAILED: (START, FAIL),
}

PHASE_LEGAL = {
    (PhaseStatus.PENDING, "start"): [events.PhaseStarted(phase="research")],
    (PhaseStatus.RUNNING, "complete"): [
        events.PhaseCompleted(phase="research", result={"sources": ["a", "b"]}, confidence=0.75)
    ],
    (PhaseStatus.RUNNING, "fail"): [
        events.PhaseFailed(phase="research", error={"code": "rate_limited", "retry_in": 30})
    ],
}

COMMANDS = {"start": START, "complete": COMPLETE, "fail": FAIL}


def test_an_interrupted_phase_is_never_in_a_running_job():
    """Interrupted only when an attempt ends; the next attempt's start sets every phase pending."""
    assert set(REACH) == set(PhaseStatus) - {PhaseStatus.INTERRUPTED}


ENDINGS = {  # how an attempt can end with a phase running: (leased?, command)
    "fail": (False, commands.FailJob(error="boom")),
    "retry": (True, builders.as_worker(commands.FailJob(error="flaky", retryable=True))),
    "cancel": (False, commands.CancelJob(reason="stop")),
    "expire": (False, commands.ExpireJob()),
    "release": (True, builders.as_worker(commands.ReleaseJob())),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_phase_running_when_its_attempt_ends_is_interrupted(ending: str):
    leased, command = ENDINGS[ending]
    job = builders.claimed(START, max_attempts=2) if leased else builders.running(START)
    at = builders.AFTER_EXPIRY if ending == "expire" else job.updated_at + timedelta(seconds=1)
    ended = builders.apply(job, command, at)
    research = ended.phase("research")
    assert ended.status is not Status.RUNNING
    assert (research.status, research.started_at, research.finished_at) == (PhaseStatus.INTERRUPTED, job.updated_at, at)
    assert {p.status for p in ended.phases if p.name != "research"} == {PhaseStatus.PENDING}


@pytest.mark.parametrize("phase_status", list(REACH), ids=lambda s: s.value)
@pytest.mark.parametrize("trigger", list(COMMANDS))
def test_phase_command_per_phase_status(phase_status: PhaseStatus, trigger: str):
    job = builders.running(*REACH[phase_status])
    assert job.phase("research").status is phase_status
    expected = PHASE_LEGAL.get((phase_status, trigger))
    if expected is not None:
        assert decide(job, COMMANDS[trigger], builders.T0) == expected
        return
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, COMMANDS[trigger], builders.T0)
    assert refused.value.details == {
        "job_id": str(job.id),
        "status": "running",
        "transition": f"{trigger} phase",
        "phase": "research",
        "phase_status": phase_status.value,
        "version": job.version,
    }
    assert refused.value.message == f"cannot {trigger} phase 'research': it is {phase_status.value}"


@pytest.mark.parametrize("command", list(COMMANDS.values()), ids=list(COMMANDS))
def test_unknown_phase_is_not_found(command: commands.Command):
    job = builders.running()
    unknown = type(command)(phase="summary")
    with pytest.raises(errors.PhaseNotFound) as missing:
        decide(job, unknown, builders.T0)
    assert missing.value.details == {"phase": "summary", "phases": ["research", "audit"]}
    assert "summary" in missing.value.message


def test_a_job_without_phases_has_no_phase_to_start():
    job = builders.running(phases=())
    with pytest.raises(errors.PhaseNotFound):
        decide(job, START, builders.T0)


@pytest.mark.parametrize(
    "earlier",
    [(), (START,), (START, FAIL)],
    ids=["first pending", "first running", "first failed"],
)
def test_a_phase_cannot_start_before_the_previous_one_completed(earlier):
    job = builders.running(*earlier)
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, commands.StartPhase(phase="audit"), builders.T0)
    assert refused.value.details["phase"] == "audit"
    assert refused.value.details["transition"] == "start phase"
    assert refused.value.message == "cannot start phase 'audit': phase 'research' must complete first"


def test_the_next_phase_starts_once_the_previous_one_completed():
    job = builders.running(START, COMPLETE)
    assert decide(job, commands.StartPhase(phase="audit"), builders.T0) == [events.PhaseStarted(phase="audit")]


def test_the_first_unfinished_phase_is_named():
    job = builders.running(phases=("a", "b", "c"))
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, commands.StartPhase(phase="c"), builders.T0)
    assert refused.value.message == "cannot start phase 'c': phase 'a' must complete first"


def test_the_job_cannot_complete_while_a_phase_runs():
    job = builders.running(START, COMPLETE, commands.StartPhase(phase="audit"))
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, commands.CompleteJob(), builders.T0)
    assert refused.value.details == {
        "job_id": str(job.id),
        "status": "running",
        "transition": "complete",
        "phase": "audit",
        "phase_status": "running",
        "version": job.version,
    }
    assert refused.value.message == "cannot complete the job while phase 'audit' is running"


@pytest.mark.parametrize(
    "steps",
    [(), (START, COMPLETE), (START, FAIL)],
    ids=["phases pending", "phase completed", "phase failed"],
)
def test_the_job_completes_when_no_phase_runs(steps):
    job = builders.running(*steps)
    assert decide(job, commands.CompleteJob(result=1), builders.T0) == [events.JobCompleted(result=1)]


def test_folding_a_completed_phase_records_its_times_result_and_confidence():
    job = builders.running()
    started_at, finished_at = job.updated_at + timedelta(seconds=5), job.updated_at + timedelta(minutes=3)
    job = builders.apply(job, START, started_at)
    assert job.phase("research") == Phase("research", PhaseStatus.RUNNING, started_at=started_at)
    job = builders.apply(job, COMPLETE, finished_at)
    assert job.phase("research") == Phase(
        "research",
        PhaseStatus.COMPLETED,
        started_at=started_at,
        finished_at=finished_at,
        result={"sources": ["a", "b"]},
        confidence=0.75,
    )
    assert job.phase("audit") == Phase("audit")
    assert job.status is Status.RUNNING


def test_folding_a_failed_phase_records_its_error_and_times():
    job = builders.running()
    started_at, finished_at = job.updated_at + timedelta(seconds=1), job.updated_at + timedelta(seconds=9)
    job = builders.apply(builders.apply(job, START, started_at), FAIL, finished_at)
    assert job.phase("research") == Phase(
        "research",
        PhaseStatus.FAILED,
        started_at=started_at,
        finished_at=finished_at,
        error={"code": "rate_limited", "retry_in": 30},
    )
    assert job.status is Status.RUNNING
    assert job.result is None and job.error is None


def test_phase_order_is_kept_while_folding():
    job = builders.running(START, COMPLETE, commands.StartPhase(phase="audit"))
    assert [(p.name, p.status) for p in job.phases] == [
        ("research", PhaseStatus.COMPLETED),
        ("audit", PhaseStatus.RUNNING),
    ]
