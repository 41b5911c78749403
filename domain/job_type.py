"""A job type's definition as a stream of its own in the log: defined, paused, resumed.

A tenant's job type `name` is the stream `stream_id(tenant, name)`; its events are facts like a
job's, and its state (`TypeState`) is their fold. The definition (`config`) is what
`PUT /types/{name}` registered; the status (active or paused) is the state machine's
(machine.TYPE_TRANSITIONS). Like the rest of domain/, nothing here reads a clock or does I/O.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from jobledger.domain import errors, machine
from jobledger.domain.events import Event, TypeDefined, TypePaused, TypeResumed
from jobledger.domain.status import TypeStatus

# The namespace of job type streams' ids: a job's id is random or made in another namespace
# (application.jobs), so no job ever has a type stream's id.
_NAMESPACE = uuid.UUID("6f4d1f0e-3a51-5c1b-9f1e-8a8f4b7a2c11")


def stream_id(tenant: str, name: str) -> uuid.UUID:
    """The stream of the tenant's job type `name`."""
    return uuid.uuid5(_NAMESPACE, f"{len(tenant)}:{tenant}{name}")  # unambiguous whatever the names hold


@dataclass(frozen=True, slots=True)
class TypeState:
    """A job type's state, folded from its stream."""

    tenant: str
    name: str
    version: int = 0  # events in its stream
    config: dict[str, Any] = field(default_factory=dict)
    status: TypeStatus = TypeStatus.ACTIVE
    paused_reason: str | None = None

    @property
    def paused(self) -> bool:
        return self.status is TypeStatus.PAUSED


def evolve(state: TypeState, event: Event) -> TypeState:
    """Apply one event of the type's stream."""
    changes: dict[str, Any] = {"version": state.version + 1}
    if isinstance(event, TypeDefined):
        changes["config"] = event.config
    elif isinstance(event, TypePaused):
        changes["status"], changes["paused_reason"] = TypeStatus.PAUSED, event.reason
    elif isinstance(event, TypeResumed):
        changes["status"], changes["paused_reason"] = TypeStatus.ACTIVE, None
    else:
        raise ValueError(f"{event.type} is not an event of a job type")
    return TypeState(**{**_fields(state), **changes})


def fold(state: TypeState, history: list[Event]) -> TypeState:
    """`state` after `history` (from `TypeState(tenant, name)`, the type before its first event)."""
    for event in history:
        state = evolve(state, event)
    return state


def decide(state: TypeState, trigger: str, *, config: dict[str, Any] | None = None, reason: str | None = None) -> list[Event]:
    """The events `trigger` (define, pause, resume) records on the type: none when it would change
    nothing (a pause of a paused type, a resume of an active one, the same definition again)."""
    try:
        machine.type_next(state.status, trigger)
    except machine.Refused:
        return []
    if trigger == "define":
        if config is None:
            raise errors.InvalidCommand(fields=[{"field": "config", "reason": "a definition is needed"}])
        return [] if state.version and config == state.config else [TypeDefined(state.tenant, state.name, config)]
    if trigger == "pause":
        return [TypePaused(state.tenant, state.name, reason)]
    return [TypeResumed(state.tenant, state.name)]


def _fields(state: TypeState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in TypeState.__dataclass_fields__}
