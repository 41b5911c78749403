"""Retries: exponential backoff with jitter, retryable failures, retries by hand, fresh attempts."""

import dataclasses
from datetime import timedelta

import pytest

from jobledger.domain import commands, errors, events
from jobledger.domain.decide import backoff, decide
from jobledger.domain.job import Phase, fold
from jobledger.domain.status import PhaseStatus, Status
from tests.domain import builders

MICROSECOND = timedelta(microseconds=1)
SECOND = timedelta(seconds=1)


def _after(attempts: int, base: float = 2.0, cap: float = 1000.0):
    """A job whose attempt number `attempts` just ended, with these retry settings."""
    job = builders.created(retry_base_seconds=base, retry_max_seconds=cap, max_attempts=attempts + 1)
    return dataclasses.replace(job, attempts=attempts)


@pytest.mark.parametrize(("attempts", "window"), [(1, 2), (2, 4), (3, 8), (4, 16), (7, 128)])
def test_backoff_doubles_per_attempt(attempts: int, window: float):
    assert backoff(_after(attempts), 1.0) == window * SECOND


@pytest.mark.parametrize(("attempts", "window"), [(1, 10), (2, 20), (3, 40), (4, 60), (5, 60), (30, 60)])
def test_backoff_is_capped_at_retry_max_seconds(attempts: int, window: float):
    assert backoff(_after(attempts, base=10, cap=60), 1.0) == window * SECOND


def test_backoff_stays_capped_for_any_attempt_number():
    # Seconds arrive as floats (the API's schema); 10.0 * 2**1999 does not fit in a float.
    assert backoff(_after(2000, base=10.0, cap=60.0), 1.0) == 60 * SECOND


@pytest.mark.parametrize(
    ("jitter", "share"),
    [(0.0, 0.5), (0.5, 0.75), (1.0, 1.0), (-3.0, 0.5), (7.0, 1.0)],
    ids=["0 half", "0.5", "1 full", "below 0", "above 1"],
)
def test_jitter_spreads_the_upper_half_of_the_window(jitter: float, share: float):
    assert backoff(_after(3), jitter) == 8 * share * SECOND


def test_a_zero_base_retries_at_once():
    assert backoff(_after(4, base=0), 1.0) == timedelta(0)


@pytest.mark.parametrize("jitter", [0.0, 0.3, 1.0])
def test_a_retryable_failure_with_attempts_left_schedules_a_retry(jitter: float):
    job = builders.claimed(max_attempts=3, retry_base_seconds=2)
    now = job.updated_at + SECOND
    fail = builders.as_worker(commands.FailJob(error={"code": "503"}, retryable=True, jitter=jitter))
    recorded = decide(job, fail, now)
    assert recorded == [events.RetryScheduled(attempt=1, run_at=now + (1 + jitter) * SECOND, error={"code": "503"})]
    queued = fold(job, recorded, now)
    assert (queued.status, queued.run_at, queued.error, queued.attempts, queued.finished_at) == (
        Status.QUEUED,
        now + (1 + jitter) * SECOND,
        {"code": "503"},
        1,
        None,
    )
    assert (queued.worker_id, queued.lease_token_hash, queued.lease_expires_at) == (None, None, None)


def test_a_retryable_failure_of_a_tracked_job_also_retries():
    job = builders.running(phases=())
    job = dataclasses.replace(job, max_attempts=2)
    now = job.updated_at + SECOND
    recorded = decide(job, commands.FailJob(error="e", retryable=True, jitter=0), now)
    assert recorded == [events.RetryScheduled(attempt=1, run_at=now + 0.5 * SECOND, error="e")]


def test_a_retryable_failure_on_the_last_attempt_fails_the_job():
    job = builders.claimed(max_attempts=1)
    fail = builders.as_worker(commands.FailJob(error="e", retryable=True))
    assert decide(job, fail, job.updated_at + SECOND) == [events.JobFailed(error="e")]


def test_a_failure_that_is_not_retryable_fails_the_job_with_attempts_left():
    job = builders.claimed(max_attempts=5)
    fail = builders.as_worker(commands.FailJob(error="bad input", retryable=False))
    assert decide(job, fail, job.updated_at + SECOND) == [events.JobFailed(error="bad input")]


def test_retries_back_off_until_the_attempts_run_out():
    job = builders.created(max_attempts=3, retry_base_seconds=2, retry_max_seconds=1000)
    fail = builders.as_worker(commands.FailJob(error="flaky", retryable=True, jitter=0.5))
    now = builders.T0 + timedelta(minutes=1)
    for attempt, delay in [(1, 1.5), (2, 3.0)]:
        job = builders.apply(job, builders.claim(), now)
        now += SECOND
        job = builders.apply(job, fail, now)
        assert (job.status, job.attempts, job.run_at) == (Status.QUEUED, attempt, now + delay * SECOND)
        with pytest.raises(errors.IllegalTransition, match="the job runs at"):
            decide(job, builders.claim(), job.run_at - MICROSECOND)
        now = job.run_at
    job = builders.apply(builders.apply(job, builders.claim(), now), fail, now + SECOND)
    assert (job.status, job.attempts, job.error) == (Status.FAILED, 3, "flaky")


def test_retry_by_hand_queues_a_failed_job_at_once():
    job = builders.leased_in_status(Status.FAILED)
    now = job.updated_at + timedelta(hours=1)
    recorded = decide(job, commands.RetryJob(requested_by="ops"), now)
    assert recorded == [
        events.RetryScheduled(attempt=1, run_at=now, error={"code": "boom"}, manual=True, requested_by="ops")
    ]
    queued = fold(job, recorded, now)
    assert (queued.status, queued.run_at, queued.finished_at, queued.attempts) == (Status.QUEUED, now, None, 1)
    assert queued.max_attempts == 2


def test_retry_by_hand_grants_exactly_one_more_attempt():
    job = builders.leased_in_status(Status.FAILED)
    job = builders.apply(job, commands.RetryJob(), job.updated_at + SECOND)
    job = builders.apply(job, builders.claim("worker-2", builders.OTHER_TOKEN), job.run_at)
    assert (job.status, job.attempts, job.worker_id) == (Status.RUNNING, 2, "worker-2")
    fail = builders.as_worker(commands.FailJob(error="again", retryable=True), builders.OTHER_TOKEN)
    assert decide(job, fail, job.updated_at + SECOND) == [events.JobFailed(error="again")]


def test_retry_by_hand_keeps_attempts_that_were_left():
    job = builders.claimed(commands.FailJob(error="x", retryable=False), max_attempts=4)
    job = builders.apply(job, commands.RetryJob(), job.updated_at + SECOND)
    assert (job.attempts, job.max_attempts) == (1, 4)


@pytest.mark.parametrize("status", [s for s in Status if s not in (Status.FAILED, Status.WAITING)], ids=lambda s: s.value)
def test_only_a_failed_job_can_be_retried_by_hand(status: Status):
    job = builders.leased_in_status(status)
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, commands.RetryJob(), job.updated_at + SECOND)
    assert refused.value.message == f"cannot requeue a job that is {status.value}"


def test_the_next_attempt_starts_its_phases_and_progress_afresh():
    job = builders.claimed(
        commands.StartPhase(phase="research"),
        commands.CompletePhase(phase="research", result=[1], confidence=0.9),
        commands.StartPhase(phase="audit"),
        commands.ReportProgress(percent=70, message="auditing"),
        commands.FailJob(error="flaky", retryable=True),
        max_attempts=2,
        retry_base_seconds=0,
    )
    assert job.status is Status.QUEUED and job.progress is not None
    assert [p.status for p in job.phases] == [PhaseStatus.COMPLETED, PhaseStatus.INTERRUPTED]
    assert job.phases[1].finished_at == job.updated_at
    now = job.updated_at + timedelta(minutes=1)
    job = builders.apply(job, builders.claim("worker-2", builders.OTHER_TOKEN), now)
    assert job.phases == (Phase("research"), Phase("audit"))
    assert job.progress is None
    assert (job.status, job.attempts, job.started_at, job.finished_at, job.worker_id) == (
        Status.RUNNING,
        2,
        now,
        None,
        "worker-2",
    )
    start_audit = builders.as_worker(commands.StartPhase(phase="audit"), builders.OTHER_TOKEN)
    with pytest.raises(errors.IllegalTransition, match="phase 'research' must complete first"):
        decide(job, start_audit, now + SECOND)


def test_a_tracked_restart_also_starts_afresh():
    job = builders.running(commands.StartPhase(phase="research"), commands.ReportProgress(percent=5))
    job = dataclasses.replace(job, max_attempts=2)
    job = builders.run(job, commands.FailJob(error="e", retryable=True, jitter=0), commands.StartJob())
    assert (job.attempts, job.progress, job.phases) == (2, None, (Phase("research"), Phase("audit")))
