"""The job status read model: one row per job, written in the append's transaction.

The row holds the columns that lists and sweeps filter on, plus `doc`: the whole
job document, which is also the snapshot that commands decide on.
"""

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import events
from domain.job import Artifact, Draft, Job, Phase, Progress
from domain.status import PhaseStatus, Status

NAME = "job_status"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _phase_doc(p: Phase) -> dict[str, Any]:
    return {
        "name": p.name,
        "status": p.status.value,
        "started_at": _iso(p.started_at),
        "finished_at": _iso(p.finished_at),
        "result": p.result,
        "confidence": p.confidence,
        "error": p.error,
    }


def _progress_doc(p: Progress | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"percent": p.percent, "message": p.message, "details": p.details, "reported_at": _iso(p.reported_at)}


def _artifact_doc(a: Artifact) -> dict[str, Any]:
    return {"name": a.name, "content_type": a.content_type, "size": a.size, "added_at": _iso(a.added_at), "version": a.version}


def _artifact(d: dict[str, Any]) -> Artifact:
    return Artifact(d["name"], d["content_type"], d["size"], _time(d["added_at"]), d["version"])


def document(job: Job) -> dict[str, Any]:
    """The job document as the API shows it (without `position`, which the store adds)."""
    return {
        "id": str(job.id),
        "type": job.type,
        "tenant": job.tenant,
        "status": job.status.value,
        "priority": job.priority,
        "payload": job.payload,
        "metadata": job.metadata,
        "phases": [_phase_doc(p) for p in job.phases],
        "progress": _progress_doc(job.progress),
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "retry_base_seconds": job.retry_base_seconds,
        "retry_max_seconds": job.retry_max_seconds,
        "worker_id": job.worker_id,
        "lease_token_hash": job.lease_token_hash,
        "lease_expires_at": _iso(job.lease_expires_at),
        "cancel_requested": job.cancel_requested,
        "cancel_reason": job.cancel_reason,
        "cancelled_by": job.cancelled_by,
        "artifacts": [_artifact_doc(a) for a in job.artifacts],
        "idempotency_key": job.idempotency_key,
        "created_at": _iso(job.created_at),
        "run_at": _iso(job.run_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "expires_at": _iso(job.expires_at),
        "updated_at": _iso(job.updated_at),
        "version": job.version,
    }


def job_from_document(doc: dict[str, Any]) -> Job:
    """The job state a document was written from (the snapshot commands decide on)."""
    progress = doc["progress"]
    return Job(
        id=UUID(doc["id"]),
        type=doc["type"],
        tenant=doc["tenant"],
        status=Status(doc["status"]),
        payload=doc["payload"],
        metadata=doc["metadata"],
        phases=tuple(_phase(p) for p in doc["phases"]),
        priority=doc["priority"],
        max_attempts=doc["max_attempts"],
        created_at=_time(doc["created_at"]),
        updated_at=_time(doc["updated_at"]),
        expires_at=_time(doc["expires_at"]),
        run_at=_time(doc["run_at"]),
        attempts=doc["attempts"],
        progress=None if progress is None else _progress(progress),
        result=doc["result"],
        error=doc["error"],
        started_at=_time(doc["started_at"]),
        finished_at=_time(doc["finished_at"]),
        retry_base_seconds=doc["retry_base_seconds"],
        retry_max_seconds=doc["retry_max_seconds"],
        worker_id=doc["worker_id"],
        lease_token_hash=doc["lease_token_hash"],
        lease_expires_at=_time(doc["lease_expires_at"]),
        cancel_requested=doc["cancel_requested"],
        cancel_reason=doc["cancel_reason"],
        cancelled_by=doc["cancelled_by"],
        artifacts=tuple(_artifact(a) for a in doc["artifacts"]),
        idempotency_key=doc["idempotency_key"],
        version=doc["version"],
    )


def _phase(d: dict[str, Any]) -> Phase:
    return Phase(
        name=d["name"],
        status=PhaseStatus(d["status"]),
        started_at=_time(d["started_at"]),
        finished_at=_time(d["finished_at"]),
        result=d["result"],
        confidence=d["confidence"],
        error=d["error"],
    )


def _progress(d: dict[str, Any]) -> Progress:
    return Progress(d["percent"], d["message"], d["details"], _time(d["reported_at"]))


def row(job: Job) -> dict[str, Any]:
    """The status table row for `job`; the store fills in the positions and `doc`."""
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
        "doc": document(job),
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
