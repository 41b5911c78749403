"""Leases: claims, the lease check on every worker report, heartbeats and lease expiry."""

from datetime import timedelta

import pytest

from jobledger.domain import commands, errors, events
from jobledger.domain.decide import backoff, decide
from jobledger.domain.job import fold
from jobledger.domain.status import Status
from tests.domain import builders

MICROSECOND = timedelta(microseconds=1)
LEASE = timedelta(seconds=builders.LEASE_SECONDS)

REPORTS, SETUP = builders.REPORTS, builders.REPORT_SETUP


def _recorded_under_the_lease(name: str, now) -> list[events.Event]:
    return {
        "ReportProgress": [events.ProgressReported(percent=60, message="most", details={"rows": 6})],
        "StartPhase": [events.PhaseStarted(phase="research")],
        "CompletePhase": [events.PhaseCompleted(phase="research", result={"n": 1}, confidence=0.5)],
        "FailPhase": [events.PhaseFailed(phase="research", error={"code": "bad"})],
        "CompleteJob": [events.JobCompleted(result={"url": "s3://out"})],
        "FailJob": [events.JobFailed(error={"code": "crash"})],
        "Heartbeat": [events.LeaseExtended(lease_expires_at=now + timedelta(seconds=90))],
        "AddArtifact": [events.ArtifactAdded(name="log", content_type="text/plain", data="ok", size=2)],
        "ReleaseJob": [events.JobReleased(worker_id=builders.WORKER, attempt=1, reason="shutting down")],
    }[name]


def _lease_lost(job, command, now, message: str) -> None:
    with pytest.raises(errors.LeaseLost) as lost:
        decide(job, command, now)
    assert lost.value.message == message
    assert lost.value.details == {"job_id": str(job.id), "status": job.status.value, "version": job.version}


def test_every_worker_report_is_covered():
    assert {type(c) for c in REPORTS.values()} == {
        c for c in vars(commands).values() if isinstance(c, type) and issubclass(c, commands.WorkerReport) and c.trigger
    }
    assert all(name == type(c).__name__ for name, c in REPORTS.items())


def test_a_claim_starts_the_next_attempt_under_a_lease():
    job = builders.created()
    now = builders.T0 + timedelta(minutes=5)
    recorded = decide(job, builders.claim(lease_seconds=45), now)
    assert recorded == [
        events.JobStarted(
            attempt=1,
            worker_id=builders.WORKER,
            lease_token_hash=builders.TOKEN,
            lease_expires_at=now + timedelta(seconds=45),
        )
    ]
    claimed = fold(job, recorded, now)
    assert (claimed.status, claimed.attempts, claimed.started_at) == (Status.RUNNING, 1, now)
    assert (claimed.worker_id, claimed.lease_token_hash) == (builders.WORKER, builders.TOKEN)
    assert claimed.leased


@pytest.mark.parametrize("early", [MICROSECOND, timedelta(minutes=9)], ids=["just before", "long before"])
def test_a_claim_before_run_at_is_refused(early):
    run_at = builders.T0 + timedelta(minutes=10)
    job = builders.created(run_at=run_at)
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, builders.claim(), run_at - early)
    assert refused.value.message == f"the job runs at {run_at.isoformat()}"
    assert refused.value.details == {
        "job_id": str(job.id),
        "status": "queued",
        "transition": "start",
        "version": job.version,
        "phase": None,
        "phase_status": None,
    }


@pytest.mark.parametrize("late", [timedelta(0), MICROSECOND, timedelta(days=2)], ids=["at", "just after", "long after"])
def test_a_claim_from_run_at_is_allowed(late):
    run_at = builders.T0 + timedelta(minutes=10)
    job = builders.created(run_at=run_at)
    [started] = decide(job, builders.claim(), run_at + late)
    assert started.attempt == 1 and started.lease_token_hash == builders.TOKEN
    assert started.lease_expires_at == run_at + late + LEASE


def test_a_second_worker_cannot_claim_a_held_job():
    job = builders.claimed()
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, builders.claim("worker-2", builders.OTHER_TOKEN), job.updated_at + MICROSECOND)
    assert refused.value.message == "cannot start a job that is running"


@pytest.mark.parametrize("name", list(REPORTS))
def test_a_report_under_the_lease_is_recorded(name: str):
    job = builders.claimed(*SETUP.get(name, ()))
    now = job.lease_expires_at - MICROSECOND
    assert decide(job, builders.as_worker(REPORTS[name]), now) == _recorded_under_the_lease(name, now)


@pytest.mark.parametrize("name", list(REPORTS))
def test_a_report_without_a_token_on_a_leased_job_is_refused(name: str):
    job = builders.claimed(*SETUP.get(name, ()))
    message = "a worker holds this job: send its lease_token"
    _lease_lost(job, REPORTS[name], job.updated_at + MICROSECOND, message)


@pytest.mark.parametrize("name", list(REPORTS))
def test_a_report_with_another_token_is_refused(name: str):
    job = builders.claimed(*SETUP.get(name, ()))
    report = builders.as_worker(REPORTS[name], builders.OTHER_TOKEN)
    _lease_lost(job, report, job.updated_at + MICROSECOND, "this lease_token does not hold the job")


@pytest.mark.parametrize("name", list(REPORTS))
@pytest.mark.parametrize("late", [timedelta(0), MICROSECOND, timedelta(days=3)], ids=["at", "just after", "long after"])
def test_a_report_from_lease_expires_at_is_refused(name: str, late: timedelta):
    job = builders.claimed(*SETUP.get(name, ()))
    message = f"the lease expired at {job.lease_expires_at.isoformat()}"
    _lease_lost(job, builders.as_worker(REPORTS[name]), job.lease_expires_at + late, message)


@pytest.mark.parametrize("name", list(REPORTS))
def test_a_token_on_a_tracked_job_is_refused(name: str):
    job = builders.running(*SETUP.get(name, ()))
    assert not job.leased
    report = builders.as_worker(REPORTS[name])
    _lease_lost(job, report, job.updated_at + MICROSECOND, "the job is not held under a lease")


@pytest.mark.parametrize(
    "status", [s for s in Status if s not in (Status.RUNNING, Status.WAITING)], ids=lambda s: s.value  # never leased while waiting
)
@pytest.mark.parametrize("name", list(REPORTS))
def test_the_last_token_on_a_job_no_longer_running_is_refused(status: Status, name: str):
    job = builders.leased_in_status(status)
    assert job.status is status and not job.leased
    report = builders.as_worker(REPORTS[name])
    _lease_lost(job, report, job.updated_at + MICROSECOND, "the job is not held under a lease")


def test_a_heartbeat_extends_the_lease_from_now():
    job = builders.claimed()
    old_expiry = job.lease_expires_at
    now = old_expiry - timedelta(seconds=5)
    job = builders.apply(job, builders.as_worker(commands.Heartbeat(lease_seconds=60)), now)
    assert job.lease_expires_at == now + timedelta(seconds=60)
    report = builders.as_worker(commands.ReportProgress(percent=1))
    assert decide(job, report, old_expiry) == [events.ProgressReported(percent=1)]
    with pytest.raises(errors.LeaseLost):
        decide(job, report, now + timedelta(seconds=60))


def test_a_heartbeat_on_a_tracked_job_is_refused():
    # A tracked job holds no lease: there is nothing to extend, and a LeaseExtended
    # would give it a lease_expires_at that the lease sweeper picks up but can never expire.
    job = builders.running()
    _lease_lost(
        job, commands.Heartbeat(lease_seconds=30), job.updated_at + MICROSECOND, "the job is not held under a lease"
    )


@pytest.mark.parametrize("early", [MICROSECOND, timedelta(minutes=5)], ids=["just before", "long before"])
def test_expire_lease_before_the_lease_runs_out_is_refused(early: timedelta):
    job = builders.claimed()
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, commands.ExpireLease(), job.lease_expires_at - early)
    assert refused.value.message == f"the lease runs until {job.lease_expires_at.isoformat()}"
    assert refused.value.details == {
        "job_id": str(job.id),
        "status": "running",
        "transition": "lose_lease",
        "version": job.version,
        "phase": None,
        "phase_status": None,
    }


def test_expire_lease_on_a_tracked_job_is_refused():
    job = builders.running()
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, commands.ExpireLease(), builders.AFTER_EXPIRY)
    assert refused.value.message == "the job holds no lease"
    assert refused.value.details["transition"] == "lose_lease"


def _lease_error(attempt: int) -> dict:
    return {"code": "lease_expired", "message": f"worker {builders.WORKER} stopped answering", "attempt": attempt}


@pytest.mark.parametrize("late", [timedelta(0), timedelta(hours=2)], ids=["at", "after"])
@pytest.mark.parametrize("jitter", [0.0, 0.25, 1.0])
def test_an_expired_lease_with_attempts_left_schedules_a_retry(late: timedelta, jitter: float):
    job = builders.claimed(max_attempts=2, retry_base_seconds=8)
    now = job.lease_expires_at + late
    recorded = decide(job, commands.ExpireLease(jitter=jitter), now)
    assert recorded == [
        events.LeaseExpired(worker_id=builders.WORKER, attempt=1),
        events.RetryScheduled(attempt=1, run_at=now + timedelta(seconds=4 + 4 * jitter), error=_lease_error(1)),
    ]
    assert backoff(job, jitter) == timedelta(seconds=4 + 4 * jitter)
    queued = fold(job, recorded, now)
    assert (queued.status, queued.run_at, queued.attempts, queued.error) == (
        Status.QUEUED,
        now + timedelta(seconds=4 + 4 * jitter),
        1,
        _lease_error(1),
    )
    assert (queued.worker_id, queued.lease_token_hash, queued.lease_expires_at) == (None, None, None)


def test_an_expired_lease_on_the_last_attempt_fails_the_job():
    job = builders.claimed(max_attempts=1)
    now = job.lease_expires_at
    recorded = decide(job, commands.ExpireLease(), now)
    assert recorded == [
        events.LeaseExpired(worker_id=builders.WORKER, attempt=1),
        events.JobFailed(error=_lease_error(1)),
    ]
    failed = fold(job, recorded, now)
    assert (failed.status, failed.finished_at, failed.error, failed.worker_id) == (
        Status.FAILED,
        now,
        _lease_error(1),
        builders.WORKER,
    )
    assert not failed.leased and failed.lease_expires_at is None


def test_a_worker_whose_lease_expired_can_no_longer_change_the_job():
    job = builders.claimed(max_attempts=2, retry_base_seconds=0)
    job = builders.apply(job, commands.ExpireLease(), job.lease_expires_at)
    late_report = builders.as_worker(commands.CompleteJob(result="late"))
    _lease_lost(job, late_report, job.updated_at, "the job is not held under a lease")
    job = builders.apply(job, builders.claim("worker-2", builders.OTHER_TOKEN), job.run_at)
    assert (job.attempts, job.worker_id) == (2, "worker-2")
    _lease_lost(job, late_report, job.updated_at + MICROSECOND, "this lease_token does not hold the job")
    own_report = builders.as_worker(commands.CompleteJob(result="on time"), builders.OTHER_TOKEN)
    assert decide(job, own_report, job.updated_at + MICROSECOND) == [events.JobCompleted(result="on time")]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (commands.StartJob(), "cannot start a job that is running"),
        (commands.RetryJob(), "cannot requeue a job that is running"),
        (commands.ExpireJob(), None),
    ],
    ids=["StartJob", "RetryJob", "ExpireJob"],
)
def test_other_commands_on_a_leased_job_need_no_token(command, expected):
    job = builders.claimed()
    if expected is None:
        assert decide(job, command, builders.AFTER_EXPIRY) == [events.JobExpired(expires_at=job.expires_at)]
        return
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, command, job.updated_at + MICROSECOND)
    assert refused.value.message == expected
