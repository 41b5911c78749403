"""Jobs with parents (domain/dependencies.py): creating them, alone or as a batch's graph, and
reading a job's parents and children.

A create reads its parents, decides the child's events on what they are (a parent that has
ended already is resolved at once), and appends the child with a ChildAdded on each parent
that has not ended, all in one transaction, each parent at the version it was read at: a
parent that ends meanwhile refuses the append, and the create reads and decides again.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from jobledger.domain import commands, dependencies, errors, events
from jobledger.domain.job import Dependency, Job, fold
from jobledger.eventlog import codec
from jobledger.eventlog.records import AppendRequest, AppendsRefused
from jobledger.application.jobs import Jobs, Scope, append_request, new_job_id
from jobledger.application.snapshot import Snapshot

_ATTEMPTS = 20  # a create read and decided again after one of its parents moved on


def _unknown(field: str) -> errors.InvalidCommand:
    return errors.InvalidCommand(fields=[{"field": field, "reason": "no job with this id"}])


async def _parents(jobs: Jobs, wanted: dict[UUID, str], tenant: str, scope: Scope | None) -> dict[UUID, Job]:
    """Each wanted parent as it is now; InvalidCommand naming the field of one that does not exist
    or that the caller does not see (another tenant's is not told apart from none)."""
    found = {}
    for job_id, field in wanted.items():
        try:
            job = (await jobs.load(job_id, scope)).job
        except errors.JobNotFound:
            raise _unknown(field) from None
        if job.tenant != tenant:
            raise _unknown(field)
        found[job_id] = job
    return found


class _Plan:
    """The appends of one transaction: new jobs' events, and ChildAdded on parents, by stream."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.made: dict[UUID, tuple[Job | None, list[events.Event], Job]] = {}  # stream -> (as read, events, after)

    def job(self, job_id: UUID, known: dict[UUID, Job]) -> Job:
        return self.made[job_id][2] if job_id in self.made else known[job_id]

    def add(self, before: Job | None, new_events: list[events.Event], after: Job) -> None:
        first = self.made.get(after.id)
        self.made[after.id] = (first[0], first[1] + new_events, after) if first else (before, new_events, after)

    def create(self, job_id: UUID, command: commands.CreateJob, known: dict[UUID, Job]) -> Job:
        parents = {d.job: self.job(d.job, known) for d in command.depends_on}
        new_events = dependencies.created(job_id, command, parents, self.now)
        job = fold(None, new_events, self.now, job_id)
        self.add(None, new_events, job)
        for edge in command.depends_on:
            parent = parents[edge.job]
            adopted = dependencies.adopted(parent, job_id, edge.on_failure)
            if adopted:
                self.add(parent, adopted, fold(parent, adopted, self.now))
        return job

    def requests(self, meta: dict[str, Any]) -> list[AppendRequest]:
        return [
            append_request(after.id, before.version if before else 0, new_events, after, self.now, meta)
            for before, new_events, after in self.made.values()
        ]


async def _append(jobs: Jobs, plan: _Plan, meta: dict[str, Any], new: Sequence[UUID]) -> dict[UUID, Snapshot] | None:
    """The plan appended: a snapshot of each new job; None if a parent moved on (decide again).
    AppendsRefused if one of the new jobs exists (an idempotency key used before)."""
    requests = plan.requests(meta)
    try:
        outcomes = await jobs.stores.log.append_all(requests)
    except AppendsRefused as refused:
        if any(c.stream_id in new for c in refused.conflicts):
            raise
        return None
    snapshots = {}
    for request, recorded, (before, _, after) in zip(requests, outcomes, plan.made.values(), strict=True):
        jobs.metrics.appended(recorded, before, after)
        snapshots[after.id] = Snapshot(after, recorded[-1].position, request.state["doc"])
    return snapshots


async def create(
    jobs: Jobs, command: commands.CreateJob, meta: dict[str, Any], scope: Scope | None
) -> tuple[Snapshot, bool]:
    """Create a job with parents (`command.depends_on`); with an idempotency key, a replay returns
    the first job and False."""
    job_id = new_job_id(command)
    wanted = {d.job: f"depends_on.{i}" for i, d in enumerate(command.depends_on)}
    for _ in range(_ATTEMPTS):
        known = await _parents(jobs, wanted, command.tenant, scope)
        plan = _Plan(jobs.clock())
        plan.create(job_id, command, known)
        try:
            made = await _append(jobs, plan, meta, [job_id])
        except AppendsRefused:
            if command.idempotency_key is None:
                raise
            return await jobs.replayed(job_id, command), False
        if made is not None:
            return made[job_id], True
    raise errors.VersionConflict(job_id, 0, None, reason="the job's parents kept changing; try again")


def _refused(field: str, reason: str) -> errors.InvalidCommand:
    return errors.InvalidCommand(fields=[{"field": field, "reason": reason}])


def _resolve(ids: list[UUID], refs: list[str | None], references: list[list[tuple[str, str]]]):
    """Each job's parents (batch references made ids), each job's parents within the batch (by
    index), and the parents outside it (id -> the field that names it)."""
    by_ref = {ref: i for i, ref in enumerate(refs) if ref is not None}
    by_id = {job_id: i for i, job_id in enumerate(ids)}
    parents: list[tuple[Dependency, ...]] = []
    local: dict[str, list[str]] = {}
    outside: dict[UUID, str] = {}
    for i, named in enumerate(references):
        edges = []
        for k, (ref, on_failure) in enumerate(named):
            field = f"jobs.{i}.depends_on.{k}"
            if ref in by_ref:
                parent = ids[by_ref[ref]]
            else:
                try:
                    parent = UUID(ref)
                except ValueError:
                    raise _refused(field, "no job of the batch has this ref, and it is not a job id") from None
            if parent in by_id:
                local.setdefault(str(i), []).append(str(by_id[parent]))
            else:
                outside.setdefault(parent, field)
            edges.append(Dependency(parent, on_failure))
        parents.append(tuple(edges))
    return parents, local, outside


def _order(count: int, local: dict[str, list[str]]) -> list[int]:
    """The batch's jobs, each after its parents within the batch (there is no cycle)."""
    order: list[int] = []
    placed: set[str] = set()

    def place(i: str) -> None:
        if i not in placed:
            placed.add(i)
            for parent in local.get(i, ()):
                place(parent)
            order.append(int(i))

    for i in range(count):
        place(str(i))
    return order


async def create_batch(
    jobs: Jobs, commands_: list[commands.CreateJob], refs: list[str | None], references: list[list[tuple[str, str]]],
    meta: dict[str, Any], scope: Scope | None,
) -> list[tuple[Snapshot, bool]]:
    """Create a batch's jobs and the dependencies between them (`refs`, and each job's `references`:
    (a ref of the batch or a job id, on_failure)) in one transaction. A batch whose jobs all
    have idempotency keys and were all made before is a replay, answered as create_many answers it."""
    ids = [new_job_id(c) for c in commands_]
    parents, local, outside = _resolve(ids, refs, references)
    loop = dependencies.cycle({str(i): local.get(str(i), []) for i in range(len(ids))})
    if loop:
        path = " -> ".join(f"jobs.{i}" for i in loop)
        raise _refused(f"jobs.{loop[0]}.depends_on", f"the dependencies make a cycle: {path}")
    for _ in range(_ATTEMPTS):
        known = await _parents(jobs, outside, commands_[0].tenant, scope)
        plan = _Plan(jobs.clock())
        for i in _order(len(ids), local):
            plan.create(ids[i], replace(commands_[i], depends_on=parents[i]), known)
        try:
            made = await _append(jobs, plan, meta, ids)
        except AppendsRefused as refused:
            return await _replays(jobs, ids, commands_, refused)
        if made is not None:
            return [(made[job_id], True) for job_id in ids]
    raise errors.VersionConflict(ids[0], 0, None, reason="the jobs' parents kept changing; try again")


async def _replays(jobs: Jobs, ids: list[UUID], commands_: list[commands.CreateJob], refused: AppendsRefused):
    if any(c.idempotency_key is None for c in commands_):
        raise refused
    answers = []
    for i, (job_id, command) in enumerate(zip(ids, commands_, strict=True)):
        if not await jobs.stores.log.read_stream(job_id):
            raise refused  # some of the batch was made before, some not: not a replay
        try:
            answers.append((await jobs.replayed(job_id, command), False))
        except errors.IdempotencyKeyReused as exc:
            raise errors.IdempotencyKeyReused(**{**exc.details, "index": i}) from None
    return answers


def _node(doc: dict[str, Any], on_failure: str) -> dict[str, Any]:
    return {"id": doc["id"], "type": doc["type"], "status": doc["status"], "on_failure": on_failure}


async def read(jobs: Jobs, job_id: UUID, scope: Scope | None) -> dict[str, Any]:
    """The job, its parents (each with its result once completed) and its children, with their
    statuses; jobs the caller does not see are left out."""
    job = (await jobs.load(job_id, scope)).job
    edges = await jobs.stores.graph.children(job_id)
    wanted = [d.job for d in job.depends_on] + [child for child, _ in edges]
    docs = {}
    for row in await jobs.stores.graph.rows(wanted):
        if scope is None or scope.sees(row.tenant, row.type, row.user):
            docs[row.job_id] = codec.loads(row.doc)
    for missing in (j for j in wanted if j not in docs):  # past retention: folded from the log
        try:
            docs[missing] = (await jobs.load(missing, scope)).document
        except errors.JobNotFound:
            continue
    parents = []
    for d in job.depends_on:
        if d.job in docs:
            parent = docs[d.job]
            result = parent["result"] if parent["status"] == "completed" else None
            parents.append({**_node(parent, d.on_failure), "result": result})
    return {
        "job": {
            "id": str(job.id), "type": job.type, "status": job.status.value, "waiting_on": [str(p) for p in job.waiting_on]
        },
        "parents": parents,
        "children": [_node(docs[child], on_failure) for child, on_failure in edges if child in docs],
    }
