"""The messages of live updates, and the job states they carry.

Each message holds the job document after its event. The hub keeps the states of the jobs
someone listens to (JobStates), folding each event onto the last; a replay folds the job's
stream from the log up to each event's version (`history`).
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from typing import Any
from uuid import UUID

import orjson

from jobledger.domain import errors
from jobledger.domain.events import EVENT_TYPES
from jobledger.domain.job import Job, evolve
from jobledger.domain.status import Status
from jobledger.eventlog import codec
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import RecordedEvent
from jobledger.projections import job_status
from jobledger.application import redaction
from jobledger.application.snapshot import replay

log = logging.getLogger("jobledger.live")

TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.EXPIRED})
_PAGE = 1000
_RETRY_SECONDS = 0.5


def message(event: RecordedEvent, job: Job, details: bool = True, estimate: dict[str, Any] | None = None) -> bytes:
    """The live message for `event`; `job` is the job state after it, with its `estimate` as of
    the event. Without `details`, its errors show their code and message only (a client's
    socket, application.redaction)."""
    document = job_status.document(job)
    return orjson.dumps(
        {
            "type": "event",
            "event": event.type,
            "position": event.position,
            "job_id": str(event.stream_id),
            "version": event.version,
            "recorded_at": event.recorded_at.isoformat(),
            "data": event.data if details else redaction.event_data(event.type, event.data),
            "job": {
                **(document if details else redaction.document(document)), "position": event.position, "estimate": estimate,
            },
        }
    )


async def retrying(read):
    """Await `read()` until the store answers: a lost event would be a gap for every listener."""
    while True:
        try:
            return await read()
        except errors.StoreUnavailable as exc:
            log.warning("live updates waiting for the store: %s", exc)
            await asyncio.sleep(_RETRY_SECONDS)


async def state_before(stores: Stores, event: RecordedEvent) -> Job | None:
    """The job's state just before `event`, folded from its stream (None before JobCreated)."""
    if event.version == 1:
        return None
    history = await retrying(lambda: stores.log.read_stream(event.stream_id))
    return replay([e for e in history if e.version < event.version])


class JobStates:
    """Job states as of the hub's position, for jobs that someone listens to; least recently used go first."""

    def __init__(self, stores: Stores, size: int):
        self._stores = stores
        self._size = size
        self._jobs: OrderedDict[UUID, Job] = OrderedDict()

    def forget(self, job_id: UUID) -> None:
        self._jobs.pop(job_id, None)

    def offer(self, job: Job) -> None:
        """Keep a state read elsewhere (a socket's first document); `after` checks versions, so any is safe."""
        cached = self._jobs.get(job.id)
        if job.status not in TERMINAL and (cached is None or cached.version < job.version):
            self._put(job)

    def _put(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._jobs.move_to_end(job.id)
        if len(self._jobs) > self._size:
            self._jobs.popitem(last=False)

    def fold(self, event: RecordedEvent) -> Job | None:
        """The job's state after `event` (the next event of its job), or None if the store must be read."""
        job = self._jobs.get(event.stream_id)
        if event.version == 1 or (job is not None and job.version == event.version - 1):
            return self._keep(evolve(job if event.version > 1 else None, codec.domain_event(event),
                                     event.recorded_at, event.stream_id))
        return None

    async def load(self, event: RecordedEvent) -> Job:
        """The job's state after `event`, read from the store."""
        job = await self._load(event)
        if job is None or job.version != event.version:
            job = evolve(job, codec.domain_event(event), event.recorded_at, event.stream_id)
        return self._keep(job)

    def _keep(self, job: Job) -> Job:
        if job.status in TERMINAL:  # a finished job seldom changes again
            self._jobs.pop(job.id, None)
        else:
            self._put(job)
        return job

    async def _load(self, event: RecordedEvent) -> Job | None:
        """The job's state before or just after `event`: the status row when it is at either, else the log."""
        if event.version == 1:
            return None
        row = await retrying(lambda: self._stores.status.get_status(event.stream_id))
        if row is not None and row.version in (event.version - 1, event.version):
            return job_status.job_from_document(codec.loads(row.doc))
        return await state_before(self._stores, event)


async def current_states(stores: Stores, jobs: list[UUID]) -> list[Job]:
    """The jobs' states as their status rows hold them (those that have one), read together."""
    rows = await asyncio.gather(*(retrying(lambda j=j: stores.status.get_status(j)) for j in jobs))
    return [job_status.job_from_document(codec.loads(row.doc)) for row in rows if row is not None]


async def history(
    stores: Stores, after: int, up_to: int, jobs: Iterable[UUID] | None = None
) -> AsyncIterator[tuple[RecordedEvent, Job]]:
    """Each event in (after, up_to] with its job's state after it: of `jobs`, or of the whole log."""
    events = _log(stores, after, up_to) if jobs is None else _streams(stores, jobs, up_to)
    states: dict[UUID, Job] = {}
    async for event in events:
        if event.type not in EVENT_TYPES:
            continue  # a job type's own stream (domain/job_type.py)
        job = states.get(event.stream_id)
        if job is None or job.version != event.version - 1:
            job = await state_before(stores, event)
        states[event.stream_id] = job = evolve(job, codec.domain_event(event), event.recorded_at, event.stream_id)
        if event.position > after:
            yield event, job


async def _streams(stores: Stores, jobs: Iterable[UUID], up_to: int) -> AsyncIterator[RecordedEvent]:
    """The whole streams of `jobs` (folded from version 1), merged in position order."""
    streams = [await retrying(lambda j=j: stores.log.read_stream(j)) for j in jobs]
    for event in sorted((e for s in streams for e in s if e.position <= up_to), key=lambda e: e.position):
        yield event


async def _log(stores: Stores, after: int, up_to: int) -> AsyncIterator[RecordedEvent]:
    while after < up_to:
        page = await retrying(lambda a=after: stores.log.read_all(after=a, limit=_PAGE))
        for event in page:
            if event.position > up_to:
                return
            yield event
        if len(page) < _PAGE:
            return
        after = page[-1].position
