"""The application layer: load a job, let the domain decide, append, answer.

Used by the HTTP routes, the sweeper and the CLI alike; it holds no rule of its own.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import orjson

from domain import commands, decide, errors
from domain.job import Job, fold
from eventlog import codec
from eventlog.store import EventStore, RecordedEvent
from projections import job_status

_IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:jobledger:idempotency-key")
_CONFLICT_RETRIES = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


def request_hash(body: Any) -> str:
    """A stable digest of a request body, to tell a replay from a different request."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A job as last recorded: its state, and the document clients see."""

    job: Job
    position: int

    @property
    def document(self) -> dict[str, Any]:
        return {**job_status.document(self.job), "position": self.position}


class Jobs:
    def __init__(self, store: EventStore, clock: Callable[[], datetime] = utcnow):
        self.store = store
        self.clock = clock

    async def create(self, command: commands.CreateJob, meta: dict[str, Any]) -> tuple[Snapshot, bool]:
        """Create a job; with an idempotency key, a replay returns the first job and False."""
        key = command.idempotency_key
        job_id = uuid5(_IDEMPOTENCY_NAMESPACE, f"{command.tenant}\x00{key}") if key else uuid4()
        now = self.clock()
        new_events = decide.create(job_id, command, now)
        job = fold(None, new_events, now, job_id)
        try:
            recorded = await self._append(job_id, 0, new_events, job, now, meta)
        except errors.VersionConflict:
            if key is None:
                raise
            return await self._replayed(job_id, command), False
        return Snapshot(job, recorded[-1].position), True

    async def _replayed(self, job_id: UUID, command: commands.CreateJob) -> Snapshot:
        history = await self.store.read_stream(job_id)
        if history[0].data.get("request_hash") != command.request_hash:
            raise errors.IdempotencyKeyReused(idempotency_key=command.idempotency_key, job_id=str(job_id))
        return await self.load(job_id)

    async def execute(
        self, job_id: UUID, command: commands.Command, meta: dict[str, Any], expected_version: int | None = None
    ) -> Snapshot:
        """Decide `command` on the job's current state and append what it records.

        With `expected_version` (If-Match), a job that moved on is a VersionConflict;
        without it, a concurrent change is retried on the fresh state.
        """
        for _ in range(_CONFLICT_RETRIES):
            current = await self.load(job_id)
            job = current.job
            if expected_version is not None and expected_version != job.version:
                raise errors.VersionConflict(job_id, expected_version, job.version, status=job.status.value)
            now = self.clock()
            new_events = decide.decide(job, command, now)
            new_job = fold(job, new_events, now)
            try:
                recorded = await self._append(job_id, job.version, new_events, new_job, now, meta)
            except errors.VersionConflict:
                if expected_version is not None:
                    raise
                continue
            return Snapshot(new_job, recorded[-1].position)
        raise errors.VersionConflict(job_id, job.version, None, reason="the job kept changing; try again")

    async def _append(self, job_id, version, new_events, new_job, now, meta) -> list[RecordedEvent]:
        rows = [codec.new_event(e, now, meta) for e in new_events]
        return await self.store.append(job_id, version, rows, job_status.row(new_job))

    async def load(self, job_id: UUID) -> Snapshot:
        """The job's current state: from the status read model, else folded from the log."""
        row = await self.store.get_status(job_id)
        if row is not None:
            return Snapshot(job_status.job_from_document(codec.loads(row.doc)), row.last_position)
        history = await self.store.read_stream(job_id)
        if not history:
            raise errors.JobNotFound(job_id=str(job_id))
        return Snapshot(replay(history), history[-1].position)


def replay(history: list[RecordedEvent]) -> Job:
    """Fold a job's recorded events into its state."""
    job = None
    for recorded in history:
        job = fold(job, [codec.domain_event(recorded)], recorded.recorded_at, recorded.stream_id)
    return job
