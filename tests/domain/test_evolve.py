"""evolve and fold: versions, times from `at`, and the JobCreated boundary."""

from datetime import timedelta

import pytest

from domain import commands, events
from domain.decide import create
from domain.job import Job, Phase, Progress, evolve, fold
from domain.status import PhaseStatus, Status
from tests.domain import builders

T0 = builders.T0
ID = builders.JOB_ID
FULL = commands.CreateJob(
    type="rfp-analysis",
    tenant="acme",
    payload={"doc": "rfp.pdf"},
    metadata={"team": "sales"},
    phases=("research", "audit"),
    priority=5,
    max_attempts=3,
    run_at=T0 + timedelta(minutes=10),
    expires_in=timedelta(hours=2),
    idempotency_key="key-1",
    request_hash="hash-1",
)
HISTORY = [
    events.JobStarted(attempt=1, worker_id="w1", lease_token_hash="t", lease_expires_at=T0 + timedelta(minutes=5)),
    events.PhaseStarted(phase="research"),
    events.ProgressReported(percent=10.0, message="reading"),
    events.PhaseCompleted(phase="research", result=[1], confidence=0.9),
    events.PhaseStarted(phase="audit"),
    events.PhaseFailed(phase="audit", error="bad"),
    events.JobFailed(error={"code": "audit"}),
]


def test_create_records_the_command_and_the_deadline():
    assert create(ID, FULL, T0) == [
        events.JobCreated(
            job_type="rfp-analysis",
            tenant="acme",
            payload={"doc": "rfp.pdf"},
            metadata={"team": "sales"},
            phases=("research", "audit"),
            priority=5,
            max_attempts=3,
            run_at=T0 + timedelta(minutes=10),
            expires_at=T0 + timedelta(hours=2),
            idempotency_key="key-1",
            request_hash="hash-1",
        )
    ]


def test_job_created_folds_into_a_queued_job_at_version_one():
    job = fold(None, create(ID, FULL, T0), T0, ID)
    assert job == Job(
        id=ID,
        type="rfp-analysis",
        tenant="acme",
        status=Status.QUEUED,
        payload={"doc": "rfp.pdf"},
        metadata={"team": "sales"},
        phases=(Phase("research"), Phase("audit")),
        priority=5,
        max_attempts=3,
        created_at=T0,
        updated_at=T0,
        expires_at=T0 + timedelta(hours=2),
        run_at=T0 + timedelta(minutes=10),
        idempotency_key="key-1",
        version=1,
    )


def test_each_event_adds_one_to_the_version_and_sets_updated_at():
    job = fold(None, create(ID, FULL, T0), T0, ID)
    for n, event in enumerate(HISTORY, start=2):
        at = T0 + timedelta(seconds=n)
        job = evolve(job, event, at)
        assert (job.version, job.updated_at, job.created_at) == (n, at, T0)


def test_fold_applies_a_batch_with_one_time():
    at = T0 + timedelta(minutes=1)
    job = fold(fold(None, create(ID, FULL, T0), T0, ID), HISTORY, at)
    assert job.version == 1 + len(HISTORY)
    assert job.updated_at == job.started_at == job.finished_at == at
    assert job.status is Status.FAILED


def test_started_at_and_finished_at_come_from_at():
    job = builders.created()
    started, finished = T0 + timedelta(minutes=3), T0 + timedelta(hours=1, microseconds=7)
    job = evolve(job, events.JobStarted(attempt=1), started)
    assert (job.status, job.started_at, job.finished_at, job.attempts) == (Status.RUNNING, started, None, 1)
    job = evolve(job, events.JobCompleted(result={"ok": 1}), finished)
    assert (job.status, job.started_at, job.finished_at, job.result) == (Status.COMPLETED, started, finished, {"ok": 1})


def test_progress_records_when_it_was_reported():
    job = builders.running()
    at = job.updated_at + timedelta(seconds=30)
    job = evolve(job, events.ProgressReported(percent=55, message="m", details={"d": 1}), at)
    assert job.progress == Progress(55, "m", {"d": 1}, at)


def test_job_started_records_the_worker_and_lease():
    lease = T0 + timedelta(minutes=5)
    job = evolve(builders.created(), events.JobStarted(attempt=1, worker_id="w1", lease_expires_at=lease), T0)
    assert (job.worker_id, job.lease_expires_at) == ("w1", lease)


@pytest.mark.parametrize(
    "ending",
    [events.JobCompleted(), events.JobFailed(error="e"), events.JobCancelled(), events.JobExpired(expires_at=T0)],
    ids=lambda e: e.type,
)
def test_finishing_clears_the_lease(ending):
    lease = T0 + timedelta(minutes=5)
    job = evolve(builders.created(), events.JobStarted(attempt=1, worker_id="w1", lease_expires_at=lease), T0)
    assert evolve(job, ending, T0 + timedelta(minutes=1)).lease_expires_at is None


def test_cancel_records_reason_and_who():
    job = evolve(builders.created(), events.JobCancelled(reason="dup", cancelled_by="ops"), T0 + timedelta(minutes=2))
    assert (job.status, job.cancel_reason, job.cancelled_by) == (Status.CANCELLED, "dup", "ops")
    assert job.finished_at == T0 + timedelta(minutes=2)


def test_phase_events_leave_job_times_alone():
    job = builders.running()
    at = job.updated_at + timedelta(minutes=1)
    after = evolve(job, events.PhaseStarted(phase="research"), at)
    assert (after.started_at, after.finished_at, after.status) == (job.started_at, None, Status.RUNNING)
    assert after.phase("research") == Phase("research", PhaseStatus.RUNNING, started_at=at)


def test_job_created_on_an_existing_job_raises():
    job = builders.created()
    with pytest.raises(ValueError, match="existing job"):
        evolve(job, create(ID, FULL, T0)[0], T0, ID)


def test_job_created_needs_the_job_id():
    with pytest.raises(ValueError, match="job id"):
        evolve(None, create(ID, FULL, T0)[0], T0)


@pytest.mark.parametrize("event", HISTORY, ids=lambda e: e.type)
def test_events_before_job_created_raise(event):
    with pytest.raises(ValueError, match="before JobCreated"):
        evolve(None, event, T0, ID)


def test_an_unknown_event_type_raises():
    with pytest.raises(TypeError, match="no evolve rule"):
        evolve(builders.created(), events.Event(), T0)
