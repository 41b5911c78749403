"""The job document's exact form: its keys in order and every time as its own isoformat()."""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import orjson
import pytest

from jobledger.domain.events import JobCreated
from jobledger.domain.job import Artifact, Dependency, Draft, Job, Phase, Progress
from jobledger.domain.status import PhaseStatus, Status
from jobledger.projections import job_status

IST = timezone(timedelta(hours=5, minutes=30))
T = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
AT = datetime(2024, 3, 1, 12, 5, 30, 250000, tzinfo=UTC)  # the last event's time

JOB = Job(
    id=UUID("6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"),
    type="rfp-analysis",
    tenant="acme",
    user="alice",
    status=Status.RUNNING,
    payload={"doc": "rfp.pdf"},
    metadata={"team": "sales"},
    phases=(
        Phase("research", PhaseStatus.COMPLETED, T, T + timedelta(seconds=90), {"sources": 3}, 0.75),
        Phase("audit", PhaseStatus.RUNNING, AT),
        Phase("draft"),
    ),
    priority=5,
    max_attempts=3,
    created_at=T.astimezone(IST),
    updated_at=AT,
    expires_at=T + timedelta(hours=24),
    run_at=None,
    attempts=2,
    progress=Progress(42.5, "halfway", {"rows": 10}, AT),
    result=None,
    error={"code": "timeout"},
    started_at=AT.astimezone(IST),  # the same instant as updated_at, shown in its own zone
    finished_at=None,
    worker_id="w-1",
    lease_token_hash="sha256:abc",
    lease_expires_at=AT + timedelta(seconds=30, microseconds=1),
    cancel_requested=True,
    cancel_reason="enough",
    cancelled_by="ops",
    idempotency_key="key-1",
    retry_base_seconds=2.0,
    retry_max_seconds=120.0,
    artifacts=(Artifact("notes.txt", "text/plain", 5, AT, 7), Artifact("a.pdf", "application/pdf", 9, T, 4)),
    depends_on=(Dependency(UUID("00000000-0000-4000-8000-0000000000aa")), Dependency(UUID(int=7), "run")),
    waiting_on=(UUID(int=7),),
    children=2,
    version=9,
)

DOCUMENT = {
    "id": "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e",
    "type": "rfp-analysis",
    "tenant": "acme",
    "user": "alice",
    "status": "running",
    "priority": 5,
    "payload": {"doc": "rfp.pdf"},
    "metadata": {"team": "sales"},
    "phases": [
        {
            "name": "research",
            "status": "completed",
            "started_at": "2024-03-01T12:00:00+00:00",
            "finished_at": "2024-03-01T12:01:30+00:00",
            "result": {"sources": 3},
            "confidence": 0.75,
            "error": None,
        },
        {
            "name": "audit",
            "status": "running",
            "started_at": "2024-03-01T12:05:30.250000+00:00",
            "finished_at": None,
            "result": None,
            "confidence": None,
            "error": None,
        },
        {
            "name": "draft",
            "status": "pending",
            "started_at": None,
            "finished_at": None,
            "result": None,
            "confidence": None,
            "error": None,
        },
    ],
    "progress": {
        "percent": 42.5,
        "message": "halfway",
        "details": {"rows": 10},
        "reported_at": "2024-03-01T12:05:30.250000+00:00",
    },
    "result": None,
    "error": {"code": "timeout"},
    "attempts": 2,
    "max_attempts": 3,
    "retry_base_seconds": 2.0,
    "retry_max_seconds": 120.0,
    "worker_id": "w-1",
    "lease_token_hash": "sha256:abc",
    "lease_expires_at": "2024-03-01T12:06:00.250001+00:00",
    "cancel_requested": True,
    "cancel_reason": "enough",
    "cancelled_by": "ops",
    "artifacts": [
        {
            "name": "notes.txt",
            "content_type": "text/plain",
            "size": 5,
            "added_at": "2024-03-01T12:05:30.250000+00:00",
            "version": 7,
        },
        {
            "name": "a.pdf",
            "content_type": "application/pdf",
            "size": 9,
            "added_at": "2024-03-01T12:00:00+00:00",
            "version": 4,
        },
    ],
    "depends_on": [
        {"job": "00000000-0000-4000-8000-0000000000aa", "on_failure": "cancel"},
        {"job": "00000000-0000-0000-0000-000000000007", "on_failure": "run"},
    ],
    "waiting_on": ["00000000-0000-0000-0000-000000000007"],
    "children": 2,
    "idempotency_key": "key-1",
    "created_at": "2024-03-01T17:30:00+05:30",
    "run_at": None,
    "started_at": "2024-03-01T17:35:30.250000+05:30",
    "finished_at": None,
    "erased_at": None,
    "expires_at": "2024-03-02T12:00:00+00:00",
    "updated_at": "2024-03-01T12:05:30.250000+00:00",
    "version": 9,
}


def _ordered(value):
    """`value` with every dict as its list of items, so that key order counts in a comparison."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def test_the_document_has_every_key_in_order_and_every_time_in_its_own_zone():
    assert _ordered(job_status.document(JOB)) == _ordered(DOCUMENT)


def test_a_job_without_phases_progress_or_artifacts():
    job = dataclasses.replace(JOB, phases=(), progress=None, artifacts=(), run_at=T, finished_at=AT)
    expected = {**DOCUMENT, "phases": [], "progress": None, "artifacts": []}
    expected.update(run_at="2024-03-01T12:00:00+00:00", finished_at="2024-03-01T12:05:30.250000+00:00")
    assert _ordered(job_status.document(job)) == _ordered(expected)


def test_the_document_as_json_is_the_document_to_the_byte():
    """The status row's text is made by orjson from the Job (its fields in the document's order)."""
    assert job_status.document_json(JOB) == orjson.dumps(DOCUMENT).decode()
    draft = Draft(JobCreated(job_type="t", tenant="a", payload=None, metadata={}, phases=(), priority=0,
                             max_attempts=1, run_at=None, expires_at=T), T, JOB.id)
    assert job_status.document_json(draft) == orjson.dumps(job_status.document(draft.job())).decode()


def test_the_document_reads_back_into_the_job():
    assert job_status.job_from_document(DOCUMENT) == JOB


def test_an_unknown_status_is_refused_as_the_enum_refuses_it():
    with pytest.raises(ValueError, match="'paused' is not a valid Status"):
        job_status.job_from_document({**DOCUMENT, "status": "paused"})
    phases = [{**DOCUMENT["phases"][0], "status": "skipped"}]
    with pytest.raises(ValueError, match="'skipped' is not a valid PhaseStatus"):
        job_status.job_from_document({**DOCUMENT, "phases": phases})
