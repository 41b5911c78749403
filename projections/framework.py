"""Asynchronous projections: a name, a handler per event type, and a checkpoint.

A projection keeps documents by key. Handlers get the batch's documents (loaded for
the keys the batch touches) and the event; the runner stores the changed documents
and the new checkpoint in one transaction. Handlers are pure: no I/O, no clock.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import events

Docs = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Fact:
    """An event with where and when it was recorded."""

    job_id: UUID
    position: int
    recorded_at: datetime
    event: events.Event


Handler = Callable[[Docs, Fact], None]


@dataclass(frozen=True)
class Projection:
    name: str
    handlers: dict[type[events.Event], Handler] = field(default_factory=dict)
    key: Callable[[Fact], str] = lambda fact: str(fact.job_id)

    def keys(self, facts: list[Fact]) -> list[str]:
        """The document keys a batch touches (loaded before it is applied)."""
        return list(dict.fromkeys(self.key(f) for f in facts if type(f.event) in self.handlers))

    def apply(self, docs: Docs, facts: list[Fact]) -> Docs:
        """Apply a batch in order; returns the documents it changed."""
        changed: Docs = {}
        for fact in facts:
            handler = self.handlers.get(type(fact.event))
            if handler is not None:
                handler(docs, fact)
                key = self.key(fact)
                if key in docs:
                    changed[key] = docs[key]
        return changed
