"""A job as last recorded: its state folded from its events, and the document clients see."""

from dataclasses import dataclass
from typing import Any

from jobledger.domain import errors
from jobledger.domain.events import EVENT_TYPES, JobCreated, TypeDefined
from jobledger.domain.job import Job, fold
from jobledger.eventlog import codec
from jobledger.eventlog.records import RecordedEvent
from jobledger.projections import job_status


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A job as last recorded: its state, and the document clients see."""

    job: Job
    position: int
    doc: str | None = None  # job_status.document_json(job), where the status row already made it

    @property
    def document(self) -> dict[str, Any]:
        """The document clients see, position included."""
        doc = codec.loads(self.doc) if self.doc is not None else job_status.document(self.job)
        doc["position"] = self.position
        return doc

    @property
    def document_json(self) -> str:
        """`document` as JSON text, without a dict made on the way."""
        text = self.doc if self.doc is not None else job_status.document_json(self.job)
        return f'{text[:-1]},"position":{self.position}}}'


def replay(history: list[RecordedEvent]) -> Job:
    """Fold a job's recorded events into its state; JobNotFound for a stream that is no job's (a
    job type's, domain/job_type.py)."""
    if history and history[0].type not in EVENT_TYPES:
        raise errors.JobNotFound(job_id=str(history[0].stream_id))
    job = None
    for recorded in history:
        job = fold(job, [codec.domain_event(recorded)], recorded.recorded_at, recorded.stream_id)
    return job


def owner(first: RecordedEvent) -> tuple[str, str, str | None]:
    """(tenant, job type, user) of a stream, from its first event, for Scope.sees: a job's; a job
    type's own (keys given that type see it); a schedule's or a webhook endpoint's (no job type:
    only keys that see the whole tenant's types). The user of the last three is nobody's: a
    user's token sees none of them."""
    event = codec.domain_event(first)
    if isinstance(event, JobCreated):
        return event.tenant, event.job_type, event.user
    if isinstance(event, TypeDefined):
        return event.tenant, event.name, None
    return event.tenant, "", None  # no type is named "": a key limited to types sees none
