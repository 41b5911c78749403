"""What a job's end records on its waiting children, in the transaction that records the end.

A parent that ends (completes, fails for good, is cancelled or expires) resolves or cancels each
child still waiting for it (domain/dependencies.py); a child cancelled so has ended too, and its
own waiting children follow, in the same transaction. Each child is appended at the version it
was read at: a child that moved since (another parent ended in a transaction that committed
first) makes the whole append refused, and the children are read and decided again. So two
parents ending at once release their common child exactly once, on both backends.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from jobledger.domain import dependencies, errors, events
from jobledger.domain.job import Job, fold
from jobledger.eventlog import codec
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import AppendRequest, AppendsRefused, RecordedEvent
from jobledger.projections import job_status
from jobledger.application.metrics import Metrics

_ATTEMPTS = 20  # children read and decided again after another parent's end moved one of them
Decided = tuple[Job, list[events.Event], Job]  # a child as read, the events it records, the child after them
RequestFor = Callable[[UUID, int, list[events.Event], Job, datetime, dict[str, Any]], AppendRequest]


def ended(before: Job | None, after: Job) -> bool:
    """Whether these events ended a job that has children to tell."""
    return bool(after.children) and after.status.terminal and (before is None or not before.status.terminal)


async def decide(stores: Stores, ended_jobs: Sequence[Job], now: datetime, skip: frozenset[UUID]) -> list[Decided]:
    """What the end of each of `ended_jobs` records on its waiting children, transitively; children in
    `skip` (appended by the caller in the same transaction) are left to the caller."""
    decided: dict[UUID, Decided] = {}
    todo = list(ended_jobs)
    while todo:
        parent = todo.pop()
        for row in await stores.graph.waiting_children(parent.id):
            if row.job_id in skip:
                continue
            known = decided.get(row.job_id)
            child = known[2] if known else job_status.job_from_document(codec.loads(row.doc))
            new_events = dependencies.parent_ended(child, parent)
            if not new_events:
                continue
            after = fold(child, new_events, now)
            decided[child.id] = (known[0], known[1] + new_events, after) if known else (child, new_events, after)
            if ended(child, after):
                todo.append(after)
    return list(decided.values())


async def append(
    stores: Stores, request: AppendRequest, before: Job | None, after: Job, now: datetime, meta: dict[str, Any],
    metrics: Metrics, request_for: RequestFor,
) -> list[RecordedEvent]:
    """Append one job's events; if they end it, with what they record on its children."""
    if not ended(before, after):
        return await stores.log.append(request.stream_id, request.expected_version, request.events, request.state)
    (recorded,) = await append_with_children(stores, [request], [after], now, meta, metrics, request_for)
    return recorded


async def append_all(
    stores: Stores, requests: list[AppendRequest], decided: Sequence[Decided], now: datetime, meta: dict[str, Any],
    metrics: Metrics, request_for: RequestFor,
) -> list[list[RecordedEvent]]:
    """`requests` (made from `decided`) in one transaction, with what the jobs they end record on their children."""
    ended_jobs = [after for before, _, after in decided if ended(before, after)]
    if not ended_jobs:
        return await stores.log.append_all(requests)
    return await append_with_children(stores, requests, ended_jobs, now, meta, metrics, request_for)


async def append_with_children(
    stores: Stores, requests: list[AppendRequest], ended_jobs: Sequence[Job], now: datetime, meta: dict[str, Any],
    metrics: Metrics, request_for: RequestFor,
) -> list[list[RecordedEvent]]:
    """`requests` appended in one transaction with what their ended jobs record on their children;
    the recorded events of `requests`. AppendsRefused if one of `requests` met another version."""
    own = frozenset(r.stream_id for r in requests)
    for _ in range(_ATTEMPTS):
        decided = await decide(stores, ended_jobs, now, own)
        extra = [request_for(after.id, before.version, new, after, now, meta) for before, new, after in decided]
        try:
            outcomes = await stores.log.append_all([*requests, *extra])
        except AppendsRefused as refused:
            if any(c.stream_id in own for c in refused.conflicts):
                raise
            continue  # a child moved on: read the children again
        for (before, _, after), recorded in zip(decided, outcomes[len(requests):], strict=True):
            metrics.appended(recorded, before, after)
        return outcomes[: len(requests)]
    raise errors.VersionConflict(requests[0].stream_id, requests[0].expected_version, None,
                                 reason="the job's children kept changing; try again")
