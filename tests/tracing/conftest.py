"""Traces: every span of this process (the service's and the worker SDK's) goes to one in-memory
exporter, installed as the global tracer provider once, as an application would."""

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jobledger.application import tracing
from tests.sdk.conftest import client, make_worker, mode, server, service_url  # noqa: F401 - fixtures

_EXPORTER = InMemorySpanExporter()


class _Switch(trace.TracerProvider):
    """The global provider: the SDK's while a test here asks for `spans`, a no-op otherwise, so
    that no other test of the session finds trace contexts in its events' metadata."""

    def __init__(self) -> None:
        self.sdk = TracerProvider()
        self.sdk.add_span_processor(SimpleSpanProcessor(_EXPORTER))
        self.on = False

    def get_tracer(self, *args, **kwargs) -> trace.Tracer:
        return _SwitchTracer(self, self.sdk.get_tracer(*args, **kwargs))


class _SwitchTracer(trace.Tracer):
    def __init__(self, switch: _Switch, tracer: trace.Tracer) -> None:
        self._switch, self._tracer, self._off = switch, tracer, trace.NoOpTracer()

    def start_span(self, *args, **kwargs):
        return (self._tracer if self._switch.on else self._off).start_span(*args, **kwargs)

    def start_as_current_span(self, *args, **kwargs):
        return (self._tracer if self._switch.on else self._off).start_as_current_span(*args, **kwargs)


@pytest.fixture(scope="session")
def switch() -> _Switch:
    current = trace.get_tracer_provider()
    if not isinstance(current, _Switch):
        current = _Switch()
        trace.set_tracer_provider(current)
        tracing.provider_changed()
    return current


@pytest.fixture
def spans(switch):
    """The spans ended so far in this test (call it), newest last."""
    _EXPORTER.clear()
    switch.on = True
    yield _EXPORTER.get_finished_spans
    switch.on = False
