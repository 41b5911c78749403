"""The worker SDK's public import path, as the README has always shown it: `from jobledger.worker import Worker`."""

from jobledger.sdk.worker import (
    JobContext, JobStopped, LeaseLost, Parent, PermanentError, ServiceError, UndeclaredPhase, Unavailable, Worker,
)

__all__ = [
    "JobContext", "JobStopped", "LeaseLost", "Parent", "PermanentError", "ServiceError", "UndeclaredPhase", "Unavailable",
    "Worker",
]
