"""The job status read model: one row per job, written in the append's transaction.

The row holds the columns that lists and sweeps filter on, plus `doc`: the whole
job document, which is also the snapshot that commands decide on.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from jobledger.domain import events
from jobledger.domain.job import Artifact, Dependency, Draft, Job, Phase, Progress, from_fields
from jobledger.domain.status import PhaseStatus, Status

NAME = "job_status"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_Iso = Callable[[datetime | None], str | None]
# value -> member, cheaper than calling the enum; an unknown value still goes to the enum, for its error
_STATUSES = {s.value: s for s in Status}
_PHASE_STATUSES = {s.value: s for s in PhaseStatus}


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _phase_doc(p: Phase, iso: _Iso) -> dict[str, Any]:
    return {
        "name": p.name,
        "status": p.status.value,
        "started_at": iso(p.started_at),
        "finished_at": iso(p.finished_at),
        "result": p.result,
        "confidence": p.confidence,
        "error": p.error,
    }


def _progress_doc(p: Progress | None, iso: _Iso) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"percent": p.percent, "message": p.message, "details": p.details, "reported_at": iso(p.reported_at)}


def _artifact_doc(a: Artifact, iso: _Iso) -> dict[str, Any]:
    added_at = iso(a.added_at)
    return {"name": a.name, "content_type": a.content_type, "size": a.size, "added_at": added_at, "version": a.version}


def _artifact(d: dict[str, Any]) -> Artifact:
    return Artifact(d["name"], d["content_type"], d["size"], _time(d["added_at"]), d["version"])


def document(job: Job) -> dict[str, Any]:
    """The job document as the API shows it (without `position`, which the store adds)."""
    updated_at = job.updated_at
    updated = updated_at.isoformat()

    def iso(value: datetime | None) -> str | None:  # the last event's time is often a time it set too: format it once
        return updated if value is updated_at else _iso(value)

    return {
        "id": str(job.id),
        "type": job.type,
        "tenant": job.tenant,
        "user": job.user,
        "status": job.status.value,
        "priority": job.priority,
        "payload": job.payload,
        "metadata": job.metadata,
        "phases": [_phase_doc(p, iso) for p in job.phases] if job.phases else [],
        "progress": _progress_doc(job.progress, iso),
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "retry_base_seconds": job.retry_base_seconds,
        "retry_max_seconds": job.retry_max_seconds,
        "worker_id": job.worker_id,
        "lease_token_hash": job.lease_token_hash,
        "lease_expires_at": iso(job.lease_expires_at),
        "cancel_requested": job.cancel_requested,
        "cancel_reason": job.cancel_reason,
        "cancelled_by": job.cancelled_by,
        "artifacts": [_artifact_doc(a, iso) for a in job.artifacts] if job.artifacts else [],
        "depends_on": [{"job": str(d.job), "on_failure": d.on_failure} for d in job.depends_on],
        "waiting_on": [str(p) for p in job.waiting_on],
        "children": job.children,
        "idempotency_key": job.idempotency_key,
        "created_at": iso(job.created_at),
        "run_at": iso(job.run_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "erased_at": iso(job.erased_at),
        "expires_at": iso(job.expires_at),
        "updated_at": updated,
        "version": job.version,
    }


def job_from_document(doc: dict[str, Any]) -> Job:
    """The job state a document was written from (the snapshot commands decide on)."""
    return from_fields(_job_fields(doc))


def _job_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The Job's fields from its document, in the Job's declaration order (the cheap order for `from_fields`)."""
    progress = doc["progress"]
    return {
        "id": UUID(doc["id"]),
        "type": doc["type"],
        "tenant": doc["tenant"],
        "user": doc.get("user"),  # documents written before users have none
        "status": _STATUSES.get(doc["status"]) or Status(doc["status"]),
        "priority": doc["priority"],
        "payload": doc["payload"],
        "metadata": doc["metadata"],
        "phases": tuple(map(_phase, doc["phases"])),
        "progress": None if progress is None else _progress(progress),
        "result": doc["result"],
        "error": doc["error"],
        "attempts": doc["attempts"],
        "max_attempts": doc["max_attempts"],
        "retry_base_seconds": doc["retry_base_seconds"],
        "retry_max_seconds": doc["retry_max_seconds"],
        "worker_id": doc["worker_id"],
        "lease_token_hash": doc["lease_token_hash"],
        "lease_expires_at": _time(doc["lease_expires_at"]),
        "cancel_requested": doc["cancel_requested"],
        "cancel_reason": doc["cancel_reason"],
        "cancelled_by": doc["cancelled_by"],
        "artifacts": tuple(map(_artifact, doc["artifacts"])),
        # documents written before dependencies have none of these three
        "depends_on": tuple(Dependency(UUID(d["job"]), d["on_failure"]) for d in doc.get("depends_on", ())),
        "waiting_on": tuple(map(UUID, doc.get("waiting_on", ()))),
        "children": doc.get("children", 0),
        "idempotency_key": doc["idempotency_key"],
        "created_at": _time(doc["created_at"]),
        "run_at": _time(doc["run_at"]),
        "started_at": _time(doc["started_at"]),
        "finished_at": _time(doc["finished_at"]),
        "erased_at": _time(doc.get("erased_at")),  # documents written before erasure have none
        "expires_at": _time(doc["expires_at"]),
        "updated_at": _time(doc["updated_at"]),
        "version": doc["version"],
    }


def _phase(d: dict[str, Any]) -> Phase:
    return Phase(
        name=d["name"],
        status=_PHASE_STATUSES.get(d["status"]) or PhaseStatus(d["status"]),
        started_at=_time(d["started_at"]),
        finished_at=_time(d["finished_at"]),
        result=d["result"],
        confidence=d["confidence"],
        error=d["error"],
    )


def _progress(d: dict[str, Any]) -> Progress:
    return Progress(d["percent"], d["message"], d["details"], _time(d["reported_at"]))


def document_json(job: Job | Draft) -> str:
    """`document(job)` as JSON text, made by orjson from the Job itself: the Job's fields are
    the document's keys, in its order, and orjson shows a UUID, an enum, a nested dataclass
    and a time with a whole-minute offset (every time the service makes is UTC) as
    `document` does. tests/domain/test_document_format.py holds the two equal."""
    return orjson.dumps(job if type(job) is Job else job.job(), default=_shown_as_text).decode()


def _shown_as_text(value: Any) -> str:
    """What orjson leaves to us: an id read by asyncpg is its own UUID type, shown as uuid.UUID is."""
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def row(job: Job | Draft) -> dict[str, Any]:
    """The status table row for `job`, its document as JSON text; the store fills in the positions."""
    return {
        "job_id": job.id,
        "tenant": job.tenant,
        "type": job.type,
        "status": job.status.value,
        "priority": job.priority,
        "run_at": job.run_at,
        "expires_at": job.expires_at,
        "lease_expires_at": job.lease_expires_at,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "version": job.version,
        "doc": document_json(job),
    }


def retained(job: Job, finished_before: datetime | None) -> bool:
    """Whether the job keeps its row: finished jobs leave after the retention time (the log keeps them)."""
    return finished_before is None or not job.status.terminal or job.finished_at >= finished_before


class Rebuild:
    """Folds the whole log, in position order, into one row per retained job."""

    def __init__(self, finished_before: datetime | None = None) -> None:
        self.finished_before = finished_before
        self.drafts: dict[UUID, Draft] = {}  # folded in place: a rebuild applies millions of events
        self.created: dict[UUID, int] = {}  # job id -> position of its first event
        self.last: dict[UUID, int] = {}  # job id -> position of its last event

    def apply(self, stream_id: UUID, position: int, event: events.Event, at: datetime) -> None:
        if event.type not in events.EVENT_TYPES:
            return  # a job type's own stream (domain/job_type.py): no job's row
        draft = self.drafts.get(stream_id)
        if draft is None:
            self.drafts[stream_id] = Draft(event, at, stream_id)
            self.created[stream_id] = position
        else:
            draft.apply(event, at)
        self.last[stream_id] = position

    def jobs(self) -> dict[UUID, Job]:
        """Every job folded so far."""
        return {job_id: draft.job() for job_id, draft in self.drafts.items()}

    def rows(self, only: Iterable[UUID] | None = None) -> Iterator[dict[str, Any]]:
        """The rows of every retained job (or of the jobs in `only`), made one at a time;
        a draft has every field of a Job."""
        drafts = self.drafts
        for job_id in drafts if only is None else only:
            draft = drafts[job_id]
            if retained(draft, self.finished_before):
                values = row(draft)
                values["created_position"], values["last_position"] = self.created[job_id], self.last[job_id]
                yield values
