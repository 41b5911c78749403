"""A webhook endpoint as a stream of its own in the log: created, updated, its secret rotated,
disabled, enabled, deleted, and a delivery sent again by hand.

A tenant's endpoint `webhook_id` is the stream `stream_id(webhook_id)`; its state (`WebhookState`)
is the fold of its events, and its status (active, disabled, deleted) is the state machine's
(machine.WEBHOOK_TRANSITIONS). No event holds a secret, only the id the secrets table keeps it
under. Like the rest of domain/, nothing here reads a clock, draws randomness or does I/O: the
route passes the new secret's id and the time in.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from jobledger.domain import errors, machine
from jobledger.domain import webhook_events as ev
from jobledger.domain.status import WebhookStatus

# The namespace of webhook streams' ids: no job's or job type's stream has one of these ids.
_NAMESPACE = uuid.UUID("0b8f6c4e-9d27-5f3a-8e61-2c7d94a1b5e3")


def stream_id(webhook_id: str) -> uuid.UUID:
    """The stream of the endpoint `webhook_id`."""
    return uuid.uuid5(_NAMESPACE, webhook_id)


@dataclass(frozen=True, slots=True)
class WebhookState:
    """An endpoint's state, folded from its stream (version 0: it does not exist)."""

    tenant: str
    webhook_id: str
    version: int = 0
    url: str = ""
    event_types: tuple[str, ...] | None = None
    job_types: tuple[str, ...] | None = None
    description: str | None = None
    status: WebhookStatus = WebhookStatus.ACTIVE
    disabled_reason: str | None = None
    secret_id: str = ""
    previous_secret_id: str | None = None
    previous_expires_at: datetime | None = None

    @property
    def exists(self) -> bool:
        return self.version > 0 and self.status is not WebhookStatus.DELETED


def _filters(event) -> dict[str, Any]:
    kept = {"url": event.url, "description": event.description}
    for name in ("event_types", "job_types"):
        value = getattr(event, name)
        kept[name] = None if value is None else tuple(value)
    return kept


def evolve(state: WebhookState, event: ev.Event) -> WebhookState:
    """Apply one event of the endpoint's stream."""
    changes: dict[str, Any] = {"version": state.version + 1}
    if isinstance(event, ev.WebhookCreated):
        changes.update(_filters(event), secret_id=event.secret_id)
    elif isinstance(event, ev.WebhookUpdated):
        changes.update(_filters(event))
    elif isinstance(event, ev.WebhookSecretRotated):
        changes.update(
            secret_id=event.secret_id, previous_secret_id=event.previous_secret_id,
            previous_expires_at=event.previous_expires_at,
        )
    elif isinstance(event, ev.WebhookDisabled):
        changes.update(status=WebhookStatus.DISABLED, disabled_reason=event.reason)
    elif isinstance(event, ev.WebhookEnabled):
        changes.update(status=WebhookStatus.ACTIVE, disabled_reason=None)
    elif isinstance(event, ev.WebhookDeleted):
        changes.update(status=WebhookStatus.DELETED)
    elif not isinstance(event, ev.WebhookResendRequested):
        raise ValueError(f"{event.type} is not an event of a webhook endpoint")
    return replace(state, **changes)


def fold(state: WebhookState, history: list[ev.Event]) -> WebhookState:
    """`state` after `history` (from `WebhookState(tenant, webhook_id)`)."""
    for event in history:
        state = evolve(state, event)
    return state


def create(state: WebhookState, *, url: str, event_types, job_types, description, secret_id: str) -> list[ev.Event]:
    """The endpoint's first event."""
    if state.version:
        raise errors.IllegalTransition(state.webhook_id, state.status.value, "create", f"webhook {state.webhook_id} exists already")
    return [ev.WebhookCreated(state.tenant, state.webhook_id, url, _list(event_types), _list(job_types), description, secret_id)]


def decide(state: WebhookState, trigger: str, **args: Any) -> list[ev.Event]:
    """The events `trigger` records on an existing endpoint: none when it would change nothing (a
    disable of a disabled endpoint, an update to what it already is). WebhookNotFound for one
    that does not exist (deleted ones included)."""
    if not state.exists:
        raise errors.WebhookNotFound(f"no webhook {state.webhook_id}", webhook_id=state.webhook_id)
    try:
        machine.webhook_next(state.status, trigger)
    except machine.Refused:
        return []
    return _DECIDERS[trigger](state, **args)


def _update(state: WebhookState, *, url: str, event_types, job_types, description) -> list[ev.Event]:
    new = {"url": url, "event_types": _tuple(event_types), "job_types": _tuple(job_types), "description": description}
    if all(getattr(state, name) == value for name, value in new.items()):
        return []
    return [ev.WebhookUpdated(state.tenant, state.webhook_id, url, _list(event_types), _list(job_types), description)]


def _rotate(state: WebhookState, *, secret_id: str, previous_expires_at: datetime) -> list[ev.Event]:
    return [ev.WebhookSecretRotated(state.tenant, state.webhook_id, secret_id, state.secret_id, previous_expires_at)]


def _disable(state: WebhookState, *, reason: str | None = None, delivery_id: str | None = None) -> list[ev.Event]:
    return [ev.WebhookDisabled(state.tenant, state.webhook_id, reason, delivery_id)]


def _enable(state: WebhookState) -> list[ev.Event]:
    return [ev.WebhookEnabled(state.tenant, state.webhook_id)]


def _delete(state: WebhookState) -> list[ev.Event]:
    return [ev.WebhookDeleted(state.tenant, state.webhook_id)]


def _resend(state: WebhookState, *, delivery_id: str) -> list[ev.Event]:
    return [ev.WebhookResendRequested(state.tenant, state.webhook_id, delivery_id)]


_DECIDERS = {
    "update": _update, "rotate": _rotate, "disable": _disable, "enable": _enable, "delete": _delete, "resend": _resend,
}


def signing_secrets(state: WebhookState, now: datetime) -> list[str]:
    """The ids of the secrets that sign a delivery sent at `now`: the current one, and the one
    before while its overlap lasts."""
    ids = [state.secret_id]
    if state.previous_secret_id and state.previous_expires_at is not None and now < state.previous_expires_at:
        ids.append(state.previous_secret_id)
    return ids


def _list(values) -> list[str] | None:
    return None if values is None else list(values)


def _tuple(values) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)
