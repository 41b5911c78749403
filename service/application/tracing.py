"""Traces (README, Traces): the W3C trace context a request brings, kept in its events' metadata
and handed to the worker that claims the job; the spans of requests, appends and claims.

Spans go through opentelemetry-api. Unless an exporter is configured (`configure`), or the
embedding process sets a tracer provider of its own, none is made (`recording`): a request
costs a dictionary look-up, or with a traceparent its parsing (bench/jwt_overhead.py).

A traceparent is a caller's input: one that is too long or malformed is ignored (a request
without it), and metadata only ever holds a trace context re-written by the propagator.
"""

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ContextManager
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

MAX_HEADER = 512  #: characters of a traceparent or tracestate read at all (W3C: tracestate up to 512)

propagator = TraceContextTextMapPropagator()
tracer = trace.get_tracer("jobledger")
_EMPTY = Context()
_NO_SPAN = contextlib.nullcontext(trace.INVALID_SPAN)
_NO_PROVIDERS = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_LOOK_SECONDS = 1.0
_installed, _look_at = False, 0.0


def extract(carrier: Mapping[str, str] | None) -> Context:
    """The trace context of `carrier`'s traceparent (and tracestate), if valid; else an empty one."""
    parent = carrier and carrier.get("traceparent")
    if not parent or len(parent) > MAX_HEADER:
        return _EMPTY
    headers = {"traceparent": parent}
    state = carrier.get("tracestate")
    if state and len(state) <= MAX_HEADER:
        headers["tracestate"] = state
    return propagator.extract(headers, _EMPTY)  # invalid: _EMPTY itself


def carried() -> dict[str, str]:
    """The current span's trace context as metadata (traceparent, and tracestate if any); {} if none."""
    if not trace.get_current_span().get_span_context().is_valid:
        return {}
    headers: dict[str, str] = {}
    propagator.inject(headers)
    return headers


def recording() -> bool:
    """Whether a tracer provider is installed (by `configure`, or by the embedding process).
    Without one no span is made at all: the no-op API's spans still cost microseconds.

    Looking costs 2 µs (an environment variable is read): the answer is kept, and looked for
    again each second until a provider is found, which is never removed."""
    global _installed, _look_at
    if _installed:
        return True
    now = time.monotonic()
    if now >= _look_at:
        _installed, _look_at = not isinstance(trace.get_tracer_provider(), _NO_PROVIDERS), now + _LOOK_SECONDS
    return _installed


def provider_changed() -> None:
    """Look for a tracer provider at the next span (one installed later is otherwise seen within a second)."""
    global _look_at
    _look_at = 0.0


def serving(method: str, route: str, headers: Mapping[str, str]) -> ContextManager[trace.Span]:
    """The span of one request (`route`: its pattern, never the raw path), a child of the caller's
    context; with no tracer provider, the caller's context alone is made current (for `carried`)."""
    context = extract(headers)
    if not recording():
        return _NO_SPAN if context is _EMPTY else _current(context)
    attributes = {"http.request.method": method, "http.route": route}
    return tracer.start_as_current_span(f"{method} {route}", context, trace.SpanKind.SERVER, attributes)


@contextlib.contextmanager
def _current(context: Context) -> Iterator[trace.Span]:
    token = otel_context.attach(context)
    try:
        yield trace.get_current_span(context)
    finally:
        otel_context.detach(token)


def answered(span: trace.Span, status: int) -> None:
    """Close a request's span with its answer's status (5xx: an error)."""
    if span.is_recording():
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(trace.StatusCode.ERROR)


def appending(job_id: UUID, expected_version: int, events: int) -> ContextManager[Any]:
    """The span of one append to a job's stream."""
    if not recording():
        return _NO_SPAN
    attributes = {"jobledger.job_id": str(job_id), "jobledger.expected_version": expected_version,
                  "jobledger.events": events}  # fmt: skip
    return tracer.start_as_current_span("jobledger.append", attributes=attributes)


def claiming(worker_id: str) -> ContextManager[Any]:
    """The span of one claim (of any number of jobs, of any traces)."""
    if not recording():
        return _NO_SPAN
    return tracer.start_as_current_span("jobledger.claim", attributes={"jobledger.worker_id": worker_id})


async def claimed(log: Any, jobs: Sequence[Any], worker_id: str) -> dict[UUID, str | None]:
    """The traceparent each claimed job was created with (its JobCreated event's metadata), by id;
    and a span in each job's own trace (a child of its creation), linked to the current claim."""
    if not jobs:
        return {}
    created = await log.created_traces([job.id for job in jobs])  # one read, however many jobs
    claim = trace.get_current_span().get_span_context()
    links = [trace.Link(claim)] if claim.is_valid else None
    parents = {}
    for job in jobs:
        context = extract(created.get(job.id))  # checked again: an imported log's metadata is anyone's text
        parents[job.id] = _traceparent(trace.get_current_span(context).get_span_context())
        if not recording():
            continue
        attributes = {"jobledger.job_id": str(job.id), "jobledger.type": job.type, "jobledger.attempt": job.attempts,
                      "jobledger.worker_id": worker_id}  # fmt: skip
        tracer.start_span("jobledger.claimed", context, links=links, attributes=attributes).end()
    return parents


def _traceparent(span: trace.SpanContext) -> str | None:
    return f"00-{span.trace_id:032x}-{span.span_id:016x}-{span.trace_flags:02x}" if span.is_valid else None


def configure(exporter: str, service_name: str = "jobledger") -> Any:
    """Install a tracer provider exporting to `exporter` (none: install nothing); its shutdown, or None.

    otlp reads the standard OTEL_EXPORTER_OTLP_* variables (endpoint, headers); both need the
    SDK: pip install 'jobledger[otlp]'."""
    if exporter == "none":
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        raise RuntimeError(f"traces exported to {exporter} need: pip install 'jobledger[otlp]'") from None
    if exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise RuntimeError("traces exported to otlp need: pip install 'jobledger[otlp]'") from None
        span_exporter = OTLPSpanExporter()
    else:
        span_exporter = ConsoleSpanExporter()
    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, if set
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": service_name}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(provider)
    provider_changed()
    return provider.shutdown
