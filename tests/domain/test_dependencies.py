"""domain/dependencies.py: what a child records as its parents end, what a create records on
parents that ended already, ChildAdded, and cycles among a batch's references."""

from uuid import UUID

import pytest

from jobledger.domain import commands, dependencies, events
from jobledger.domain.job import Dependency, fold
from jobledger.domain.status import Status
from tests.domain import builders

A, B = UUID(int=0xA), UUID(int=0xB)
T0 = builders.T0


def _job(job_id: UUID, status: Status):
    job = builders.in_status(status)
    return job.__class__(**{**{f: getattr(job, f) for f in job.__slots__}, "id": job_id})


def _child(*edges: Dependency):
    return builders.created(depends_on=edges)


def test_a_job_with_parents_is_created_waiting_for_each():
    child = _child(Dependency(A), Dependency(B, "run"))
    assert child.status is Status.WAITING
    assert child.waiting_on == (A, B) and child.depends_on == (Dependency(A), Dependency(B, "run"))


@pytest.mark.parametrize(
    ("status", "on_failure", "expected"),
    [
        (Status.COMPLETED, "cancel", [events.DependencyResolved(str(A), "completed")]),
        (Status.FAILED, "run", [events.DependencyResolved(str(A), "failed")]),
        (Status.FAILED, "cancel", [events.JobCancelled(reason=f"parent {A} failed")]),
        (Status.CANCELLED, "cancel", [events.JobCancelled(reason=f"parent {A} cancelled")]),
        (Status.EXPIRED, "cancel", [events.JobCancelled(reason=f"parent {A} expired")]),
        (Status.RUNNING, "cancel", []),
        (Status.QUEUED, "run", []),
    ],
)
def test_a_parents_end_on_a_child_still_waiting_for_another(status, on_failure, expected):
    child = _child(Dependency(A, on_failure), Dependency(B))
    assert dependencies.parent_ended(child, _job(A, status)) == expected


def test_the_last_parent_queues_the_child():
    child = _child(Dependency(A), Dependency(B, "run"))
    child = fold(child, dependencies.parent_ended(child, _job(A, Status.COMPLETED)), T0)
    last = dependencies.parent_ended(child, _job(B, Status.EXPIRED))
    assert last == [events.DependencyResolved(str(B), "expired"), events.DependenciesMet()]
    assert fold(child, last, T0).status is Status.QUEUED


def test_a_child_no_longer_waiting_records_nothing():
    child = _child(Dependency(A), Dependency(B))
    cancelled = fold(child, dependencies.parent_ended(child, _job(A, Status.FAILED)), T0)
    assert cancelled.status is Status.CANCELLED
    assert dependencies.parent_ended(cancelled, _job(B, Status.FAILED)) == []
    assert dependencies.parent_ended(child, _job(UUID(int=0xC), Status.COMPLETED)) == []  # not its parent


def test_a_create_records_the_parents_that_ended_already():
    command = commands.CreateJob(type="audit", depends_on=(Dependency(A), Dependency(B)))
    parents = {A: _job(A, Status.COMPLETED), B: _job(B, Status.RUNNING)}
    recorded = dependencies.created(builders.JOB_ID, command, parents, T0)
    assert [type(e) for e in recorded] == [events.JobCreated, events.DependencyResolved]
    assert recorded[0].depends_on == ({"job": str(A), "on_failure": "cancel"}, {"job": str(B), "on_failure": "cancel"})
    assert fold(None, recorded, T0, builders.JOB_ID).waiting_on == (B,)


def test_only_a_parent_that_has_not_ended_gets_child_added():
    assert dependencies.adopted(_job(A, Status.RUNNING), B, "run") == [events.ChildAdded(str(B), "run")]
    assert dependencies.adopted(_job(A, Status.WAITING), B, "cancel") == [events.ChildAdded(str(B), "cancel")]
    assert dependencies.adopted(_job(A, Status.COMPLETED), B, "cancel") == []
    parent = fold(_job(A, Status.QUEUED), [events.ChildAdded(str(B))], T0)
    assert parent.children == 1 and parent.status is Status.QUEUED


@pytest.mark.parametrize(
    ("refs", "cycle"),
    [
        ({"a": ["b"], "b": ["c"], "c": []}, None),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"a": ["a"]}, ["a", "a"]),
        ({"a": ["b", "c"], "b": ["c"], "c": [], "d": ["e"], "e": ["d"]}, ["d", "e", "d"]),
        ({"a": ["outside"]}, None),
    ],
)
def test_cycles_among_references(refs, cycle):
    assert dependencies.cycle(refs) == cycle
