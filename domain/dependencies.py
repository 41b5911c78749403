"""Dependencies between jobs: a child waits (`waiting`) until each of its parents has ended.

A parent that completes resolves its edge; one that fails, is cancelled or expires cancels the
child, unless the edge's `on_failure` is "run": then that edge is resolved too. The last edge
resolved queues the child. Each parent's end is recorded on the child's own stream
(DependencyResolved, DependenciesMet or JobCancelled), in the transaction that records the end:
two parents ending at once both append to the child at one version, and one of them decides
again on what the other wrote. A parent gets ChildAdded when a child is created while it has
not ended, for the same reason: its end and the child's creation meet on the parent's version.
"""

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from jobledger.domain import commands, decide, events, machine
from jobledger.domain.job import Job, fold
from jobledger.domain.status import Status

CANCEL, RUN = "cancel", "run"
ON_FAILURE = (CANCEL, RUN)  #: what a parent that ends without completing does to its waiting child


def created(
    job_id: UUID, command: commands.CreateJob, parents: Mapping[UUID, Job], now: datetime
) -> list[events.Event]:
    """The events that create a job with `parents` (each as read now): JobCreated, then the end of
    each parent that has already ended, as `parent_ended` records it."""
    new_events = decide.create(job_id, command, now)
    job = fold(None, new_events, now, job_id)
    for edge in job.depends_on:
        more = parent_ended(job, parents[edge.job])
        if more:
            job = fold(job, more, now)
            new_events += more
    return new_events


def parent_ended(child: Job, parent: Job) -> list[events.Event]:
    """What `parent`'s end records on `child`: nothing unless the child still waits for it."""
    if not parent.status.terminal or parent.id not in child.waiting_on:
        return []
    try:
        machine.job_next(child.status, "resolve")
    except machine.Refused:
        return []  # already cancelled (by another parent, or by hand) or expired
    edge = next(d for d in child.depends_on if d.job == parent.id)
    if parent.status is Status.COMPLETED or edge.on_failure == RUN:
        resolved: list[events.Event] = [events.DependencyResolved(parent=str(parent.id), status=parent.status.value)]
        if len(child.waiting_on) == 1:
            machine.job_next(child.status, "unblock")
            resolved.append(events.DependenciesMet())
        return resolved
    return [events.JobCancelled(reason=f"parent {parent.id} {parent.status.value}")]


def adopted(parent: Job, child_id: UUID, on_failure: str) -> list[events.Event]:
    """ChildAdded on a parent that has not ended; nothing on one that has (the child knows its end)."""
    try:
        machine.job_next(parent.status, "adopt")
    except machine.Refused:
        return []
    return [events.ChildAdded(child=str(child_id), on_failure=on_failure)]


def cycle(depends_on: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle among references (each -> the references it depends on) as a path from a reference
    back to itself, or None. References to names not in `depends_on` end a path."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in depends_on:
        path: list[str] = []
        stack = [(start, iter(depends_on.get(start, ())))]
        if state.get(start):
            continue
        state[start] = 1
        path.append(start)
        while stack:
            ref, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                stack.pop()
                path.pop()
                state[ref] = 2
            elif state.get(step) == 1:
                return path[path.index(step):] + [step]
            elif step in depends_on and not state.get(step):
                state[step] = 1
                path.append(step)
                stack.append((step, iter(depends_on[step])))
    return None
