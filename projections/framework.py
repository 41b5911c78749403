"""Asynchronous projections: a name, a handler per event type, and a checkpoint.

A projection keeps documents by key. Handlers get the batch's documents (loaded for
the keys the batch touches, except those it creates) and the event; the runner stores
the changed documents and the new checkpoint in one transaction. Handlers are pure: no
I/O, no clock.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from uuid import UUID

from jobledger.domain import events

Docs = dict[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Fact:
    """An event with where and when it was recorded."""

    job_id: UUID
    position: int
    recorded_at: datetime
    event: events.Event


#: what a handler may return besides changing its fact's document: (a group document's key, a
#: value to fold into it). A group document gathers many keys' facts (a job type's durations);
#: its key is known only once the fact's own document is, so the runner loads it after `apply`.
Contribution = tuple[str, Any]
Handler = Callable[[Docs, Fact], Contribution | None]


@dataclass(frozen=True, slots=True)
class Touches:
    """What a batch does to the documents it touches."""

    reads: list[str]  #: keys whose stored documents the batch needs
    ended: list[str]  #: keys whose last fact in the batch ends them


@dataclass(frozen=True)
class Projection:
    name: str
    handlers: dict[type[events.Event], Handler] = field(default_factory=dict)
    key: Callable[[Fact], str] = lambda fact: str(fact.job_id)
    #: event types whose handler writes its key's document whole, reading nothing of it:
    #: a key that a batch touches first with one of them is not read from the store
    creates: frozenset[type[events.Event]] = frozenset()
    #: event types after which a key's document is seldom changed again: a runner keeps no copy
    ends: frozenset[type[events.Event]] = frozenset()
    #: folds the contributions of a batch (in order) into the group documents they name, which
    #: `docs` holds when stored (those missing are new); None: the handlers contribute nothing
    fold_groups: Callable[[Docs, list[Contribution]], None] | None = None

    @cached_property
    def event_types(self) -> frozenset[str]:
        """The stored type names of the events the projection handles (others need no decoding)."""
        return frozenset(kind.type for kind in self.handlers)

    def touches(self, facts: list[Fact]) -> Touches:
        """The keys a batch must read before it is applied, and those it ends."""
        first: dict[str, type] = {}
        last: dict[str, type] = {}
        for fact in facts:
            kind = type(fact.event)
            if kind in self.handlers:
                key = self.key(fact)
                first.setdefault(key, kind)
                last[key] = kind
        return Touches(
            [k for k, kind in first.items() if kind not in self.creates],
            [k for k, kind in last.items() if kind in self.ends],
        )

    def apply(self, docs: Docs, facts: list[Fact], contributions: list[Contribution] | None = None) -> Docs:
        """Apply a batch in order; returns the documents it changed. What the handlers
        contribute to group documents is appended to `contributions`, for `groups`."""
        changed: Docs = {}
        for fact in facts:
            handler = self.handlers.get(type(fact.event))
            if handler is not None:
                contributed = handler(docs, fact)
                if contributed is not None and contributions is not None:
                    contributions.append(contributed)
                key = self.key(fact)
                if key in docs:
                    changed[key] = docs[key]
        return changed

    def groups(self, docs: Docs, contributions: list[Contribution]) -> Docs:
        """Fold `contributions` into the group documents in `docs` (their stored versions, those
        that exist); returns the group documents they changed."""
        if not contributions or self.fold_groups is None:
            return {}
        self.fold_groups(docs, contributions)
        return {key: docs[key] for key, _ in contributions}
