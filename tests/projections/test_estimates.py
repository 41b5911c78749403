"""The estimate as a pure function: a job's times, its type's history and now in, seconds out."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from jobledger.domain import events
from jobledger.projections import stats
from jobledger.projections.estimates import KEEP, MIN_SAMPLES, History, estimate, times_of
from jobledger.projections.framework import Fact

NOW = datetime(2031, 1, 1, 12, tzinfo=UTC)
HISTORY = History(waits=(5.0, 20.0, 10.0, 10.0, 90.0), runs=(100.0, 40.0, 60.0, 60.0, 61.0))  # medians 10, 60


def _times(status="queued", created=-30, run_at=None, started=None, percent=None, attempts=0, updated=None):
    """The Times of a stored document with these times (seconds from NOW), as times_of reads it."""
    at = lambda s: None if s is None else (NOW + timedelta(seconds=s)).isoformat()  # noqa: E731
    doc = {
        "status": status, "created_at": at(created), "run_at": at(run_at), "started_at": at(started),
        "updated_at": at(updated if updated is not None else created), "attempts": attempts,
        "progress": None if percent is None else {"percent": percent},
    }
    return times_of(doc)


@pytest.mark.parametrize(
    ("times", "remaining", "basis"),
    [
        (_times(created=0), 70.0, "history"),  # just queued: the median wait, then the median run
        (_times(created=-4), 66.0, "history"),  # 4 s of its wait gone
        (_times(created=-300), 60.0, "history"),  # overdue to start: the run alone
        (_times(created=-300, run_at=100), 170.0, "history"),  # claimable in 100 s
        (_times(created=-300, attempts=1, updated=-2), 68.0, "history"),  # released 2 s ago: waiting since
        (_times("running", started=-15), 45.0, "history"),
        (_times("running", started=-90), 0.0, "history"),  # overran the median: any moment
        (_times("running", started=-30, percent=75), 0.75 * 10 + 0.25 * 30, "history+progress"),
        (_times("running", started=-30, percent=0), 30.0, "history"),  # 0 %: no pace yet
        (_times("running", started=-30, percent=100), 0.0, "history+progress"),
    ],
)
def test_remaining_seconds(times, remaining, basis):
    got = estimate(times, HISTORY, NOW)
    assert got == {
        "remaining_seconds": remaining,
        "finishes_at": (NOW + timedelta(seconds=remaining)).isoformat(),
        "basis": basis,
        "samples": 5,
    }


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled", "expired"])
def test_a_finished_job_has_no_estimate(status):
    assert estimate(_times(status, started=-10), HISTORY, NOW) is None


def test_no_estimate_below_the_minimum_sample():
    short = History(HISTORY.waits, HISTORY.runs[: MIN_SAMPLES - 1])
    assert estimate(_times(), short, NOW) is None
    assert estimate(_times(), History(HISTORY.waits[:1], HISTORY.runs), NOW) is None
    assert estimate(_times(), None, NOW) is None


def test_the_type_document_keeps_the_last_runs_of_completed_jobs_per_tenant():
    t0 = datetime(2031, 1, 1, tzinfo=UTC)
    facts, docs, position = [], {}, 0

    def add(job_id, event, seconds):
        nonlocal position
        position += 1
        facts.append(Fact(job_id, position, t0 + timedelta(seconds=seconds), event))

    for i in range(KEEP + 3):
        job = uuid4()
        add(job, events.JobCreated("render", "acme", None, {}, (), 0, 1, None, t0 + timedelta(days=1)), 10 * i)
        add(job, events.JobStarted(attempt=1), 10 * i + 1)
        add(job, events.JobCompleted() if i % 2 == 0 else events.JobFailed(error="x"), 10 * i + 1 + i)
    contributions = []
    stats.projection.apply(docs, facts, contributions)
    stats.projection.groups(docs, contributions)
    group = docs[stats.type_key("acme", "render")]
    assert group["waits"] == [1.0] * KEEP
    assert group["runs"] == [float(i) for i in range(KEEP + 3) if i % 2 == 0][-KEEP:]
    assert stats.type_key("other", "render") not in docs
