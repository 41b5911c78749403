"""evolve and fold: versions, times from `at`, and the JobCreated boundary."""

import dataclasses
from datetime import timedelta

import pytest

from jobledger.domain import commands, events
from jobledger.domain.decide import create
from jobledger.domain.job import Artifact, Job, Phase, Progress, evolve, fold, from_fields
from jobledger.domain.status import PhaseStatus, Status
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
    retry_base_seconds=2.0,
    retry_max_seconds=120.0,
)
LEASE = T0 + timedelta(minutes=5)
HISTORY = [
    events.JobStarted(attempt=1, worker_id="w0", lease_token_hash="s", lease_expires_at=LEASE),
    events.JobReleased(worker_id="w0", attempt=1, reason="shutting down"),
    events.JobStarted(attempt=1, worker_id="w1", lease_token_hash="t", lease_expires_at=LEASE),
    events.LeaseExtended(lease_expires_at=LEASE + timedelta(minutes=5)),
    events.LeaseExpired(worker_id="w1", attempt=1),
    events.RetryScheduled(attempt=1, run_at=T0 + timedelta(minutes=20), error={"code": "lease_expired"}),
    events.JobStarted(attempt=2, worker_id="w2", lease_token_hash="u", lease_expires_at=LEASE + timedelta(hours=1)),
    events.PhaseStarted(phase="research"),
    events.ProgressReported(percent=10.0, message="reading"),
    events.ArtifactAdded(name="notes", content_type="text/plain", data="n", size=1),
    events.PhaseCompleted(phase="research", result=[1], confidence=0.9),
    events.PhaseStarted(phase="audit"),
    events.PhaseFailed(phase="audit", error="bad"),
    events.CancellationRequested(reason="enough", cancelled_by="ops"),
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
            retry_base_seconds=2.0,
            retry_max_seconds=120.0,
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
        retry_base_seconds=2.0,
        retry_max_seconds=120.0,
        version=1,
    )


def test_a_created_message_is_the_queued_jobs_progress_until_it_starts():
    job = fold(None, create(ID, dataclasses.replace(FULL, message="waiting for upload"), T0), T0, ID)
    assert (job.status, job.progress) == (Status.QUEUED, Progress(None, "waiting for upload", None, T0))
    later = T0 + timedelta(seconds=1)
    job = evolve(job, events.ProgressReported(None, "waiting for a slot", {"ahead": 2}), later)
    assert (job.status, job.progress) == (Status.QUEUED, Progress(None, "waiting for a slot", {"ahead": 2}, later))
    assert evolve(job, HISTORY[0], T0 + timedelta(seconds=2)).progress is None  # an attempt starts its progress afresh


def test_each_event_adds_one_to_the_version_and_sets_updated_at():
    job = fold(None, create(ID, FULL, T0), T0, ID)
    for n, event in enumerate(HISTORY, start=2):
        at = T0 + timedelta(seconds=n)
        job = evolve(job, event, at)
        assert (job.version, job.updated_at, job.created_at) == (n, at, T0)


def test_an_evolved_job_is_a_frozen_job_like_any_other():
    job = fold(None, create(ID, FULL, T0), T0, ID)
    for event in HISTORY:
        job = evolve(job, event, T0)
        rebuilt = Job(**{f.name: getattr(job, f.name) for f in dataclasses.fields(Job)})
        assert type(job) is Job
        assert job == rebuilt
        assert repr(job) == repr(rebuilt)
        with pytest.raises(dataclasses.FrozenInstanceError):
            job.version = 0


def test_from_fields_is_job_of_those_fields_in_any_order():
    job = fold(fold(None, create(ID, FULL, T0), T0, ID), HISTORY, T0)
    values = {f.name: getattr(job, f.name) for f in dataclasses.fields(Job)}
    assert from_fields(values) == job
    assert from_fields(dict(reversed(values.items()))) == job
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        from_fields({**values, "colour": "red"})
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'tenant'"):
        from_fields({k: v for k, v in values.items() if k != "tenant"})


def test_fold_applies_a_batch_with_one_time():
    at = T0 + timedelta(minutes=1)
    job = fold(fold(None, create(ID, FULL, T0), T0, ID), HISTORY, at)
    assert job.version == 1 + len(HISTORY)
    assert job.updated_at == job.started_at == job.finished_at == at
    assert job.status is Status.FAILED
    assert (job.attempts, job.worker_id, job.lease_token_hash, job.lease_expires_at) == (2, "w2", None, None)
    assert job.artifacts == (Artifact("notes", "text/plain", 1, at, 11),)


def test_the_history_covers_every_event_type_after_job_created():
    assert {type(e) for e in HISTORY} | {events.JobCreated} >= set(events.EVENT_TYPES.values()) - {
        events.JobCompleted,
        events.JobCancelled,
        events.JobExpired,
        events.JobErased,  # test_erasure.py
        *(events.ChildAdded, events.DependencyResolved, events.DependenciesMet),  # test_dependencies.py
    }


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


def _leased() -> Job:
    started = events.JobStarted(attempt=1, worker_id="w1", lease_token_hash="t", lease_expires_at=LEASE)
    return evolve(builders.created(), started, T0)


def test_a_released_job_is_queued_again_with_its_attempt_given_back():
    job = builders.created(max_attempts=1)
    started = events.JobStarted(attempt=1, worker_id="w1", lease_token_hash="t", lease_expires_at=LEASE)
    job = evolve(job, started, T0 + timedelta(seconds=1))
    at = T0 + timedelta(seconds=2)
    job = evolve(job, events.JobReleased(worker_id="w1", attempt=1, reason="shutting down"), at)
    assert (job.status, job.attempts, job.run_at, job.worker_id) == (Status.QUEUED, 0, None, None)
    assert (job.lease_token_hash, job.lease_expires_at, job.updated_at) == (None, None, at)
    again = builders.apply(job, builders.claim(), at)  # the same attempt again: max_attempts=1 is not used up
    assert (again.status, again.attempts) == (Status.RUNNING, 1)


def test_job_started_records_the_worker_and_lease():
    job = _leased()
    assert (job.worker_id, job.lease_token_hash, job.lease_expires_at) == ("w1", "t", LEASE)
    assert job.leased


def test_a_tracked_start_holds_no_lease():
    job = evolve(builders.created(), events.JobStarted(attempt=1), T0)
    assert (job.worker_id, job.lease_token_hash, job.lease_expires_at) == (None, None, None)
    assert not job.leased


@pytest.mark.parametrize(
    "ending",
    [events.JobCompleted(), events.JobFailed(error="e"), events.JobCancelled(), events.JobExpired(expires_at=T0)],
    ids=lambda e: e.type,
)
def test_finishing_clears_the_lease_and_keeps_the_last_worker(ending):
    job = evolve(_leased(), ending, T0 + timedelta(minutes=1))
    assert (job.lease_token_hash, job.lease_expires_at, job.worker_id) == (None, None, "w1")
    assert not job.leased


def test_lease_extended_moves_only_the_lease_deadline():
    job = _leased()
    later = LEASE + timedelta(seconds=30)
    after = evolve(job, events.LeaseExtended(lease_expires_at=later), T0 + timedelta(seconds=10))
    assert after.lease_expires_at == later
    assert (after.status, after.worker_id, after.lease_token_hash, after.attempts) == (Status.RUNNING, "w1", "t", 1)


def test_lease_expired_takes_the_lease_and_keeps_who_held_it():
    job = evolve(_leased(), events.LeaseExpired(worker_id="w1", attempt=1), LEASE)
    assert (job.lease_token_hash, job.lease_expires_at, job.worker_id) == (None, None, "w1")
    assert (job.status, job.attempts, job.finished_at) == (Status.RUNNING, 1, None)


def test_retry_scheduled_queues_the_job_again_from_run_at():
    run_at = LEASE + timedelta(seconds=4)
    job = fold(_leased(), [events.LeaseExpired("w1", 1), events.RetryScheduled(1, run_at, {"code": "x"})], LEASE)
    assert (job.status, job.run_at, job.error, job.finished_at) == (Status.QUEUED, run_at, {"code": "x"}, None)
    assert (job.worker_id, job.lease_token_hash, job.lease_expires_at) == (None, None, None)
    assert (job.attempts, job.max_attempts) == (1, 1)


@pytest.mark.parametrize(("attempts", "max_attempts", "raised_to"), [(1, 1, 2), (3, 3, 4), (1, 5, 5)])
def test_a_manual_retry_allows_at_least_one_more_attempt(attempts, max_attempts, raised_to):
    failed = fold(
        builders.created(max_attempts=max_attempts),
        [events.JobStarted(attempt=attempts), events.JobFailed(error="e")],
        T0 + timedelta(minutes=1),
    )
    retried = events.RetryScheduled(attempts, T0 + timedelta(minutes=2), "e", manual=True, requested_by="ops")
    job = evolve(failed, retried, T0 + timedelta(minutes=2))
    assert (job.status, job.attempts, job.max_attempts, job.finished_at) == (Status.QUEUED, attempts, raised_to, None)


def test_an_automatic_retry_leaves_max_attempts_alone():
    job = fold(builders.created(max_attempts=3), [events.JobStarted(attempt=3)], T0)
    job = evolve(job, events.RetryScheduled(3, T0, "e"), T0)
    assert job.max_attempts == 3


def test_cancellation_requested_keeps_the_job_running_under_its_lease():
    job = evolve(_leased(), events.CancellationRequested(reason="dup", cancelled_by="ops"), T0 + timedelta(seconds=5))
    assert (job.cancel_requested, job.cancel_reason, job.cancelled_by) == (True, "dup", "ops")
    assert (job.status, job.lease_token_hash, job.finished_at) == (Status.RUNNING, "t", None)


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
