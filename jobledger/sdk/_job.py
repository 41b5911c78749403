"""One claimed job: its lease and handler task (`Run`), and what the handler may report (`JobContext`)."""

import asyncio
import contextlib
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from jobledger.sdk._transport import Answer, LeaseLost

Handler = Callable[[dict[str, Any], "JobContext"], Awaitable[Any]]
Report = Callable[["Run", str, tuple], Awaitable[Answer]]  # (run, transport method, its arguments) -> answer

RUNNING = "running"
_TRACEBACK_CHARS = 4000
_PROPAGATOR = TraceContextTextMapPropagator()
_TRACER = trace.get_tracer("jobledger.worker")


class PermanentError(Exception):
    """Raise from a handler to fail the job at once, with no retry."""

    code = "handler_error"

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.details = details


class UndeclaredPhase(PermanentError):
    """The handler opened a phase its job does not have: no attempt would find it, so the job fails
    at once (with this code), not after spending every attempt."""

    code = "undeclared_phase"


class JobStopped(asyncio.CancelledError):
    """The job stopped under its handler: cancelled, expired, or its lease lost."""


@dataclass(frozen=True, slots=True)
class Spec:
    fn: Handler
    retryable: bool


@dataclass(slots=True)
class Run:
    """One claimed job in flight."""

    document: dict[str, Any]
    token: str
    lease_seconds: float
    lease_deadline: float  # loop time by which the lease surely ran out, unless extended
    spec: Spec
    task: asyncio.Task | None = None
    reason: str | None = None  # why the handler was stopped: a job status, "lease_lost", "shutdown"
    beat_at: float | None = None  # loop time the next heartbeat is due (None: none is)
    beat: asyncio.Task | None = None  # the heartbeat in flight
    handling: bool = True  # the handler is still running (afterwards nothing is left to stop)
    traceparent: str | None = None  # the trace context the job was created in

    @property
    def job_id(self) -> str:
        return self.document["id"]

    def stop(self, reason: str) -> None:
        """Stop the handler; a no-op once it has returned, or when it was stopped already."""
        if self.handling and self.reason is None:
            self.reason = reason
            if self.task is not asyncio.current_task():  # in the task itself, the caller raises JobStopped
                self.task.cancel(reason)


def lease_of(document: dict[str, Any]) -> float:
    """The lease the service granted, measured on its own clock."""
    started = datetime.fromisoformat(document["started_at"])
    return (datetime.fromisoformat(document["lease_expires_at"]) - started).total_seconds()


def handling(document: dict[str, Any], traceparent: str | None):
    """The handler's span: a child of the job's creation, in the trace its creator began (README, Traces)."""
    parent = _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None
    attributes = {"jobledger.job_id": document["id"], "jobledger.type": document["type"],
                  "jobledger.attempt": document["attempts"]}  # fmt: skip
    return _TRACER.start_as_current_span(
        f"jobledger.handle {document['type']}", parent, trace.SpanKind.CONSUMER, attributes,
        record_exception=False, set_status_on_exception=False,  # the worker reports a handler's exception itself
    )


def record_failure(exc: BaseException) -> None:
    """Mark the current (handler's) span failed by `exc`."""
    span = trace.get_current_span()
    span.record_exception(exc)
    span.set_status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")


def traced() -> dict[str, str] | None:
    """The traceparent header of the current span (a handler's calls are its children), or None."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    headers: dict[str, str] = {}
    _PROPAGATOR.inject(headers)
    return headers


def error_of(exc: BaseException) -> dict[str, Any]:
    text = "".join(traceback.format_exception(exc))[-_TRACEBACK_CHARS:]
    code = exc.code if isinstance(exc, PermanentError) else "handler_error"
    error = {"code": code, "type": f"{type(exc).__module__}.{type(exc).__qualname__}", "message": str(exc)}
    if isinstance(exc, PermanentError) and exc.details is not None:
        error["details"] = exc.details
    return {**error, "traceback": text}


@dataclass(frozen=True, slots=True)
class Parent:
    """A job this one depends on (README, Dependencies), as it was when the handler asked."""

    id: str
    type: str
    status: str  #: completed, or (over an edge whose on_failure is run) failed, cancelled or expired
    on_failure: str
    result: Any = None  #: its result, once completed


class JobContext:
    """What a handler may tell the service about its job while it runs."""

    def __init__(self, run: Run, report: Report):
        self._run = run
        self._report = report
        self._parents: list[Parent] | None = None

    async def parents(self) -> list[Parent]:
        """The job's parents in its depends_on order, with their statuses and results (read once)."""
        if self._parents is None:
            if not self._run.document.get("depends_on"):
                return []
            graph = await self._report(self._run, "graph", ())
            self._parents = [
                Parent(p["id"], p["type"], p["status"], p["on_failure"], p["result"]) for p in graph["parents"]
            ]
        return self._parents

    @property
    def job(self) -> dict[str, Any]:
        """The job document as claimed."""
        return self._run.document

    @property
    def job_id(self) -> str:
        return self._run.job_id

    @property
    def attempt(self) -> int:
        return self._run.document["attempts"]

    async def progress(self, percent: float, message: str | None = None, details: Any = None) -> None:
        """Report progress: 0-100, with an optional message and free-form details."""
        await self._call("progress", percent, message, details)

    async def start_phase(self, name: str) -> None:
        declared = [p["name"] for p in self._run.document.get("phases", ())]
        if name not in declared:
            raise UndeclaredPhase(
                f"phase {name!r} is not one of the job's phases ({', '.join(map(repr, declared)) or 'it has none'}); "
                "declare it on the job type (PUT /types/{name} phases) or name it when creating the job",
                details={"phase": name, "phases": declared},
            )
        await self._call("start_phase", name)

    async def complete_phase(self, name: str, result: Any = None, confidence: float | None = None) -> None:
        await self._call("complete_phase", name, result, confidence)

    async def fail_phase(self, name: str, error: Any) -> None:
        await self._call("fail_phase", name, error)

    @contextlib.asynccontextmanager
    async def phase(self, name: str):
        """Start a phase; complete it on leaving the block, or fail it if the block raises.
        Set `.result` (and `.confidence`) on the yielded object to record them."""
        outcome = _PhaseOutcome()
        await self.start_phase(name)
        try:
            yield outcome
        except Exception as exc:
            await self.fail_phase(name, {"type": type(exc).__name__, "message": str(exc)})
            raise
        await self.complete_phase(name, outcome.result, outcome.confidence)

    async def add_artifact(self, name: str, data: Any, content_type: str = "application/json") -> None:
        """Attach an artifact: any JSON value, or text with another content type."""
        await self._call("add_artifact", name, data, content_type)

    async def _call(self, method: str, *args: Any) -> Answer:
        run = self._run
        if run.reason is not None:
            raise JobStopped(run.reason)
        try:
            answer = await self._report(run, method, args)
        except LeaseLost:
            run.stop("lease_lost")
            raise JobStopped("lease_lost") from None
        if answer.status != RUNNING:
            run.stop(answer.status)
            raise JobStopped(answer.status)
        return answer


@dataclass(slots=True)
class _PhaseOutcome:
    result: Any = None
    confidence: float | None = None
