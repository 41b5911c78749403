"""Artifacts: recorded with their content, listed without it, replaced by name."""

from datetime import timedelta

import pytest

from jobledger.domain import commands, errors, events
from jobledger.domain.decide import decide
from jobledger.domain.job import Artifact, evolve, fold
from jobledger.domain.status import Status
from tests.domain import builders

SECOND = timedelta(seconds=1)


def _add(name: str, data="x", content_type: str = "text/plain", size: int = 1) -> commands.AddArtifact:
    return builders.as_worker(commands.AddArtifact(name=name, content_type=content_type, data=data, size=size))


def test_adding_an_artifact_records_its_content():
    job = builders.claimed()
    add = _add("summary", {"rows": [1, 2]}, "application/json", 14)
    assert decide(job, add, job.updated_at + SECOND) == [
        events.ArtifactAdded(name="summary", content_type="application/json", data={"rows": [1, 2]}, size=14)
    ]


def test_a_tracked_job_adds_artifacts_without_a_token():
    job = builders.running()
    add = commands.AddArtifact(name="out.csv", content_type="text/csv", data="a,b", size=3)
    assert decide(job, add, job.updated_at + SECOND) == [
        events.ArtifactAdded(name="out.csv", content_type="text/csv", data="a,b", size=3)
    ]


def test_the_job_lists_the_artifact_with_the_version_that_holds_its_content():
    job = builders.claimed()
    at = job.updated_at + SECOND
    job = builders.apply(job, _add("summary", {"rows": []}, "application/json", 12), at)
    assert job.artifacts == (Artifact("summary", "application/json", 12, at, job.version),)


def test_an_artifact_of_the_same_name_replaces_the_older_one():
    job = builders.claimed(_add("a", "first"), _add("b"))
    first_a = job.artifacts[0]
    at = job.updated_at + SECOND
    job = builders.apply(job, _add("a", "second", size=6), at)
    assert [a.name for a in job.artifacts] == ["b", "a"]
    assert job.artifacts[-1] == Artifact("a", "text/plain", 6, at, job.version)
    assert job.artifacts[-1].version > first_a.version


def test_artifacts_added_in_one_batch_get_consecutive_versions():
    job = builders.claimed()
    at = job.updated_at + SECOND
    added = [events.ArtifactAdded("a", "text/plain", "1", 1), events.ArtifactAdded("b", "text/plain", "2", 1)]
    after = fold(job, added, at)
    assert [(a.name, a.version) for a in after.artifacts] == [("a", job.version + 1), ("b", job.version + 2)]


def test_other_events_leave_artifacts_alone():
    job = builders.claimed(_add("a"))
    listed = job.artifacts
    job = evolve(job, events.ProgressReported(percent=5), job.updated_at + SECOND)
    job = evolve(job, events.JobCompleted(result=None), job.updated_at + SECOND)
    assert job.artifacts == listed


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.RUNNING], ids=lambda s: s.value)
def test_a_job_that_is_not_running_takes_no_artifact(status: Status):
    job = builders.in_status(status)
    add = commands.AddArtifact(name="late", content_type="text/plain", data="x", size=1)
    with pytest.raises(errors.IllegalTransition) as refused:
        decide(job, add, builders.AFTER_EXPIRY)
    assert refused.value.message == f"cannot report a job that is {status.value}"
