"""Erasing a finished job's data: what JobErased takes away, and from which of its events.

A job's events are facts about it; some of them carry data that callers gave or workers made:
its payload and metadata values, results, errors, progress messages and details, cancel and
release reasons, artifacts' contents, its idempotency key. Erasing the job replaces those fields
of its events by empty values (`redact`) and records JobErased; the fold of the redacted events
and JobErased is the erased job (`job.evolve`), so reads, rebuilds and verification agree.

What remains: the job's id, type, tenant, user, status, priority, attempts and their limits,
phases' names, statuses and times, artifacts' names gone with their contents, workers' ids,
every time (created, started, finished, erased), and each event's type, version and metadata
(who acted, request ids). The log keeps, for each redacted event, the digest and leaf hash of
its bytes as they were, so its chain and the Merkle tree still verify (eventlog/erasure.py).
"""

from typing import Any

#: each event type's fields that carry a job's data, and the value that replaces them
ERASED_FIELDS: dict[str, dict[str, Any]] = {
    "JobCreated": {"payload": None, "metadata": {}, "idempotency_key": None, "message": None},
    "ProgressReported": {"message": None, "details": None},
    "PhaseCompleted": {"result": None},
    "PhaseFailed": {"error": None},
    "JobCompleted": {"result": None},
    "JobFailed": {"error": None},
    "RetryScheduled": {"error": None},
    "CancellationRequested": {"reason": None},
    "JobCancelled": {"reason": None},
    "JobReleased": {"reason": None},
    "ArtifactAdded": {"data": None},
}


def redact(type_name: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The event's data with the job's data taken out; None if it holds none to take."""
    fields = ERASED_FIELDS.get(type_name)
    if not fields or all(data.get(k, v) == v for k, v in fields.items()):
        return None
    return {**data, **{k: v for k, v in fields.items() if k in data}}
