"""Named errors of the job service. The docstring is the default message."""

import re
from typing import Any

_CAPITALISED = re.compile(r"[A-Z][a-z]*(?=[\s,]|$)")  # a word capitalised only because it opens the text


def sentence(text: str) -> str:
    """The one style of every message and reason: starts in lower case, no final full stop.

    Names keep their case: a field or header name before a colon (`If-Match: ...`), an acronym (`JSON`).
    """
    text = text.strip().removesuffix(".")
    if _CAPITALISED.match(text):
        return text[0].lower() + text[1:]
    return text


class JobServiceError(Exception):
    """Unexpected job service error."""

    code = "job_service_error"

    def __init__(self, message: str | None = None, **details: Any):
        self.message = sentence(message or self.__doc__ or self.code)
        super().__init__(self.message)
        self.details = details

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class JobNotFound(JobServiceError):
    """No job with this id."""

    code = "job_not_found"


class PhaseNotFound(JobServiceError):
    """The job has no phase with this name."""

    code = "phase_not_found"


class IllegalTransition(JobServiceError):
    """This transition is not allowed from the job's current state."""

    code = "illegal_transition"

    def __init__(
        self, job_id: Any, status: str, transition: str, reason: str | None = None, *, version: int | None = None,
        phase: str | None = None, phase_status: str | None = None,
    ):
        message = reason or f"cannot {transition} a job that is {status}"
        super().__init__(
            message, job_id=str(job_id), status=status, transition=transition, version=version, phase=phase,
            phase_status=phase_status,  # every key always: one code, one shape of details
        )


class VersionConflict(JobServiceError):
    """The job changed since the version you expected."""

    code = "version_conflict"

    def __init__(
        self, stream_id: Any, expected_version: int, current_version: int | None = None, *, reason: str | None = None,
        status: str | None = None,
    ):
        message = reason or f"expected version {expected_version}, but the job is at version {current_version}"
        super().__init__(
            message,
            job_id=str(stream_id),
            expected_version=expected_version,
            current_version=current_version,
            status=status,
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.current_version = current_version


class InvalidCommand(JobServiceError):
    """The request is not valid."""

    code = "invalid_request"

    def __init__(self, message: str | None = None, *, fields: list[dict[str, str]]):
        """`fields`: each bad field and why, `[{"field", "reason"}]`; the message names the first."""
        fields = [{"field": f["field"], "reason": sentence(f["reason"])} for f in fields]
        super().__init__(message or f"{fields[0]['field']}: {fields[0]['reason']}", fields=fields)


class TargetRefused(InvalidCommand):
    """A webhook URL this service may not send to: a well-formed URL whose host is, or resolves to,
    an address the configuration does not allow (SSRF), or does not resolve."""

    code = "target_refused"


class LimitReached(JobServiceError):
    """The tenant has as many of these as the service lets one tenant have."""

    code = "limit_reached"

    def __init__(self, what: str, limit: int, setting: str):
        super().__init__(
            f"the tenant has {limit} {what}, the most one tenant may have ({setting}): delete one first",
            limit=limit, setting=setting,
        )


class IdempotencyKeyReused(JobServiceError):
    """This Idempotency-Key was already used with a different request."""

    code = "idempotency_key_reused"

    def __init__(self, message: str | None = None, *, idempotency_key: str, job_id: str, index: int | None = None):
        """`index`: which job of a batch (None: not a batch)."""
        super().__init__(message, idempotency_key=idempotency_key, job_id=job_id, index=index)


class StoreUnavailable(JobServiceError):
    """The event store cannot be reached; try again shortly."""

    code = "store_unavailable"

    def __init__(self, message: str | None = None, *, cause: str | None = None, **details: Any):
        super().__init__(message, **details)
        self.cause = cause  # for the service's log: a client is told only `message`

    def __str__(self) -> str:
        return self.message if self.cause is None else f"{self.message} ({self.cause})"


class LeaseLost(JobServiceError):
    """This worker no longer holds the job's lease."""

    code = "lease_lost"


class ArtifactNotFound(JobServiceError):
    """The job has no artifact with this name."""

    code = "artifact_not_found"


class TypeNotFound(JobServiceError):
    """No job type with this name is registered."""

    code = "type_not_found"


class ScheduleNotFound(JobServiceError):
    """No schedule with this name."""

    code = "schedule_not_found"


class ScheduleExists(JobServiceError):
    """A schedule with this name exists: update it (PUT /schedules/{name}) or delete it first."""

    code = "schedule_exists"


class WebhookNotFound(JobServiceError):
    """No webhook endpoint with this id (or not one of the caller's tenant)."""

    code = "webhook_not_found"


class DeliveryNotFound(JobServiceError):
    """No delivery with this id to this webhook endpoint."""

    code = "delivery_not_found"


class LeafNotFound(JobServiceError):
    """No leaf with this index in the log's tree (or not one of the caller's tenant)."""

    code = "leaf_not_found"


class ProofNotFound(JobServiceError):
    """No such proof: the log's tree has not reached this size, or the leaf is not in it."""

    code = "proof_not_found"


class TreeInconsistent(JobServiceError):
    """The stored Merkle tree does not extend the last signed checkpoint: nothing is signed."""

    code = "tree_inconsistent"


class NoCheckpoint(JobServiceError):
    """No signed checkpoint covers these events yet, and no signing key is at hand to issue one."""

    code = "no_checkpoint"
