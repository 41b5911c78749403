"""Cancelling a job a worker holds: asked first, ended at the worker's next call or lease expiry."""

from datetime import timedelta

import pytest

from jobledger.domain import commands, errors, events
from jobledger.domain.decide import decide
from jobledger.domain.job import fold
from jobledger.domain.status import Status
from tests.domain import builders

MICROSECOND = timedelta(microseconds=1)
REPORTS, SETUP = builders.REPORTS, builders.REPORT_SETUP
CANCEL = commands.CancelJob(reason="customer asked", cancelled_by="alice")
CANCELLED = events.JobCancelled(reason="customer asked", cancelled_by="alice")


def _cancel_requested(*steps: commands.Command, **fields):
    return builders.claimed(*steps, CANCEL, **fields)


def test_cancelling_a_leased_job_asks_the_worker_to_stop():
    job = builders.claimed()
    now = job.updated_at + MICROSECOND
    recorded = decide(job, CANCEL, now)
    assert recorded == [events.CancellationRequested(reason="customer asked", cancelled_by="alice")]
    asked = fold(job, recorded, now)
    assert (asked.status, asked.cancel_requested, asked.cancel_reason, asked.cancelled_by) == (
        Status.RUNNING,
        True,
        "customer asked",
        "alice",
    )
    assert asked.leased and asked.lease_token_hash == builders.TOKEN and asked.finished_at is None


def test_a_second_cancel_records_nothing():
    job = _cancel_requested()
    again = commands.CancelJob(reason="really", cancelled_by="bob")
    assert decide(job, again, job.updated_at + MICROSECOND) == []


@pytest.mark.parametrize("job", [builders.created, builders.running], ids=["queued", "tracked running"])
def test_cancelling_a_job_no_worker_holds_ends_it_at_once(job):
    assert decide(job(), CANCEL, builders.T0 + timedelta(hours=1)) == [CANCELLED]


def test_cancelling_a_job_queued_again_after_a_lease_ends_it_at_once():
    job = builders.leased_in_status(Status.QUEUED)
    assert decide(job, CANCEL, job.updated_at + MICROSECOND) == [CANCELLED]


@pytest.mark.parametrize("name", list(REPORTS))
def test_the_workers_next_report_ends_the_job_cancelled(name: str):
    job = _cancel_requested(*SETUP.get(name, ()), max_attempts=3)
    now = job.updated_at + MICROSECOND
    recorded = decide(job, builders.as_worker(REPORTS[name]), now)
    assert recorded == [CANCELLED]
    cancelled = fold(job, recorded, now)
    assert (cancelled.status, cancelled.finished_at, cancelled.cancel_reason, cancelled.cancelled_by) == (
        Status.CANCELLED,
        now,
        "customer asked",
        "alice",
    )
    assert not cancelled.leased and cancelled.lease_expires_at is None


def test_a_retryable_failure_after_a_cancel_request_still_ends_cancelled():
    job = _cancel_requested(max_attempts=5)
    report = builders.as_worker(commands.FailJob(error="x", retryable=True))
    assert decide(job, report, job.updated_at + MICROSECOND) == [CANCELLED]


def test_the_first_request_names_the_reason_and_who():
    job = builders.claimed(CANCEL, commands.CancelJob(reason="other", cancelled_by="bob"))
    assert decide(job, builders.as_worker(commands.Heartbeat(30)), job.updated_at + MICROSECOND) == [CANCELLED]


@pytest.mark.parametrize(
    ("token", "late", "message"),
    [
        (None, timedelta(0), "a worker holds this job: send its lease_token"),
        (builders.OTHER_TOKEN, timedelta(0), "this lease_token does not hold the job"),
        (builders.TOKEN, None, "the lease expired at {expiry}"),
    ],
    ids=["no token", "other token", "lease expired"],
)
def test_a_call_that_does_not_hold_the_lease_does_not_end_the_job(token, late, message):
    job = _cancel_requested()
    now = job.lease_expires_at if late is None else job.updated_at + MICROSECOND
    with pytest.raises(errors.LeaseLost) as lost:
        decide(job, builders.as_worker(commands.Heartbeat(30), token), now)
    assert lost.value.message == message.format(expiry=job.lease_expires_at.isoformat())


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_lease_expiry_after_a_cancel_request_ends_the_job_cancelled(max_attempts: int):
    job = _cancel_requested(max_attempts=max_attempts)
    now = job.lease_expires_at
    recorded = decide(job, commands.ExpireLease(), now)
    assert recorded == [events.LeaseExpired(worker_id=builders.WORKER, attempt=1), CANCELLED]
    cancelled = fold(job, recorded, now)
    assert (cancelled.status, cancelled.finished_at, cancelled.run_at) == (Status.CANCELLED, now, None)


def test_lease_expiry_before_the_lease_runs_out_is_refused_even_when_cancel_was_requested():
    job = _cancel_requested()
    with pytest.raises(errors.IllegalTransition):
        decide(job, commands.ExpireLease(), job.lease_expires_at - MICROSECOND)


def test_a_job_past_its_deadline_expires_even_when_cancel_was_requested():
    job = _cancel_requested()
    assert decide(job, commands.ExpireJob(), builders.AFTER_EXPIRY) == [events.JobExpired(expires_at=job.expires_at)]
