"""What a job's errors show to callers who may not see a worker's internals.

A failed attempt's `error` is whatever the worker sent: the SDK sends a `code`, a `message`,
the exception's `type` and its `traceback` (with the worker's file paths), and a worker may
add any other detail. Clients are shown the `code` and `message` only; worker, auditor and
admin keys see it all (README, Security). This covers every place an error shows: a job
document's `error` and its phases' `error`, and the `error` in the data of the events that
carry one (JobFailed, PhaseFailed, RetryScheduled), wherever they are read (GET, lists,
command answers, event reads, WebSocket messages).
"""

from typing import Any

import orjson

#: the events whose data holds a worker's error
ERROR_EVENTS = frozenset({"JobFailed", "PhaseFailed", "RetryScheduled"})
SHOWN = ("code", "message")
WITHHELD = "the error's details are shown to worker, auditor and admin keys"


def error(value: Any) -> Any:
    """An error as a client sees it: an object's `code` and `message` (strings), a text or a
    number as it is, anything else (a list) only as withheld."""
    if isinstance(value, dict):
        return {k: value[k] for k in SHOWN if isinstance(value.get(k), str)}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return {"message": WITHHELD}


def document(doc: dict[str, Any]) -> dict[str, Any]:
    """A job document (a copy) with its errors as a client sees them."""
    shown = {**doc, "error": error(doc.get("error"))}
    if doc.get("phases"):
        shown["phases"] = [{**p, "error": error(p.get("error"))} for p in doc["phases"]]
    return shown


def may_hold_details(text: str) -> bool:
    """Whether a document or event as JSON text may hold an error with more than a text: the
    service writes JSON without spaces, so an object or list error starts `"error":{` or `"error":[`.
    (A payload holding those characters only costs the slower path.)"""
    return '"error":{' in text or '"error":[' in text


def document_text(text: str) -> str:
    """A job document as JSON text, its errors as a client sees them (the text itself when it has none to hide)."""
    if not may_hold_details(text):
        return text
    return orjson.dumps(document(orjson.loads(text))).decode()


def event_data(event_type: str, data: Any) -> Any:
    """An event's data, its error as a client sees it."""
    if event_type in ERROR_EVENTS and isinstance(data, dict) and "error" in data:
        return {**data, "error": error(data["error"])}
    return data


def event(recorded: dict[str, Any]) -> dict[str, Any]:
    """An event as the API shows it (`RecordedEvent.as_json()`), its error as a client sees it."""
    if recorded["type"] not in ERROR_EVENTS:
        return recorded
    return {**recorded, "data": event_data(recorded["type"], recorded["data"])}
