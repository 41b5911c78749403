"""Named errors of the job service. The docstring is the default message."""

from typing import Any


class JobServiceError(Exception):
    """Unexpected job service error."""

    code = "job_service_error"

    def __init__(self, message: str | None = None, **details: Any):
        super().__init__(message or self.__doc__)
        self.message = message or self.__doc__
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

    def __init__(self, job_id: Any, status: str, transition: str, reason: str | None = None, **details: Any):
        message = reason or f"cannot {transition} a job that is {status}"
        super().__init__(message, job_id=str(job_id), status=status, transition=transition, **details)


class VersionConflict(JobServiceError):
    """The job changed since the version you expected."""

    code = "version_conflict"

    def __init__(self, stream_id: Any, expected_version: int, current_version: int | None = None, **details: Any):
        message = f"expected version {expected_version}, but the job is at version {current_version}"
        super().__init__(
            message,
            job_id=str(stream_id),
            expected_version=expected_version,
            current_version=current_version,
            **details,
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.current_version = current_version


class InvalidCommand(JobServiceError):
    """The request is not valid."""

    code = "invalid_request"


class IdempotencyKeyReused(JobServiceError):
    """This Idempotency-Key was already used with a different request."""

    code = "idempotency_key_reused"


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
