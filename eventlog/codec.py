"""Event <-> row: JSON through orjson, times as ISO 8601 where a backend has no type."""

import contextlib
import gc
from datetime import datetime
from typing import Any

import orjson

from jobledger.domain import events
from jobledger.eventlog.records import NewEvent, RecordedEvent


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(value: str | bytes) -> Any:
    return orjson.loads(value)


TRACE_KEYS = ("traceparent", "tracestate")  #: what event metadata keeps of a request's trace context


def trace_context(metadata: str | bytes) -> dict[str, str]:
    """The trace context (README, Traces) an event's stored metadata holds; {} if none."""
    meta = loads(metadata)
    return {key: meta[key] for key in TRACE_KEYS if key in meta}


def new_event(event: events.Event, at: datetime, metadata: dict[str, Any]) -> NewEvent:
    """The row-ready form of a domain event recorded at `at`."""
    return NewEvent(
        type=event.type, data=event.to_data(), recorded_at=at, metadata=metadata, schema_version=event.schema_version
    )


def domain_event(recorded: RecordedEvent) -> events.Event:
    """The domain event a stored row holds."""
    return events.decode(recorded.type, recorded.data, recorded.schema_version)


@contextlib.contextmanager
def no_gc():
    """Pause the cyclic garbage collector while folding the whole log: the fold builds
    millions of acyclic objects, and full collections over them cost a quarter of a rebuild."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # what was made meanwhile sits in the youngest generation, which the next collection
        # would walk whole (0.7 s after a rebuild of 1,000,000 events): move it to the oldest.
        # Not in a process that froze objects already (`jobledger serve`): unfreeze would thaw those too.
        if not gc.get_freeze_count():
            gc.freeze()
            gc.unfreeze()
        if was_enabled:
            gc.enable()
