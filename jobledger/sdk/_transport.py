"""What a worker asks of the service, whichever way it travels (HTTP or in-process).

Both transports answer the same calls with the same `Answer`s and raise the same
errors, so `jobledger.worker` behaves alike over either.
"""

from dataclasses import dataclass
from typing import Any, Protocol


class ServiceError(Exception):
    """The service refused a worker's call."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


class LeaseLost(ServiceError):
    """This worker no longer holds the job's lease: the job ended, or went to another worker."""


class Unavailable(ServiceError):
    """The service or its database cannot be reached right now; the call may be retried."""


def service_error(code: str, message: str, details: dict[str, Any] | None = None) -> ServiceError:
    """The SDK error for an error code of the service (see README, Errors)."""
    kind = {"lease_lost": LeaseLost, "store_unavailable": Unavailable}.get(code, ServiceError)
    return kind(code, message, details)


class Answer(Protocol):
    """The job as the service answered a call: its status, and its whole document on demand."""

    @property
    def status(self) -> str: ...

    @property
    def document(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class DocumentAnswer:
    document: dict[str, Any]

    @property
    def status(self) -> str:
        return self.document["status"]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job this worker now holds, and the token that proves it."""

    document: dict[str, Any]
    lease_token: str
    traceparent: str | None = None  #: the W3C trace context the job was created in (README, Traces)


class Transport(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def claim(
        self, worker_id: str, types: list[str], limit: int, lease_seconds: float | None, wait_seconds: float, stop
    ) -> list[Claimed]:
        """Claim up to `limit` jobs, waiting up to `wait_seconds` for one; `stop` (an
        asyncio.Event) may end the wait early where that is safe."""
        ...

    async def heartbeat(self, job_id: str, token: str, lease_seconds: float) -> Answer: ...

    async def progress(self, job_id: str, token: str, percent: float, message: str | None, details: Any) -> Answer: ...

    async def start_phase(self, job_id: str, token: str, phase: str) -> Answer: ...

    async def complete_phase(
        self, job_id: str, token: str, phase: str, result: Any, confidence: float | None
    ) -> Answer: ...

    async def fail_phase(self, job_id: str, token: str, phase: str, error: Any) -> Answer: ...

    async def add_artifact(self, job_id: str, token: str, name: str, data: Any, content_type: str) -> Answer: ...

    async def complete(self, job_id: str, token: str, result: Any) -> Answer: ...

    async def fail(self, job_id: str, token: str, error: Any, retryable: bool) -> Answer: ...

    async def release(self, job_id: str, token: str, reason: str) -> Answer: ...

    async def graph(self, job_id: str, token: str) -> dict[str, Any]:
        """The job's parents and children with their statuses, as GET /jobs/{id}/graph answers."""
        ...
