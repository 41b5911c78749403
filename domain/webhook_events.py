"""A webhook endpoint's events: the stream of its definition, secrets and state (domain/webhook.py)."""

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from jobledger.domain.event import Event

# A webhook endpoint's own stream (domain/webhook.py). No event holds a secret: secrets live in
# the webhook_secrets table, named here by their `secret_id` only (exports and bundles carry events).


@dataclass(frozen=True, slots=True)
class WebhookCreated(Event):
    type: ClassVar[str] = "WebhookCreated"

    tenant: str
    webhook_id: str
    url: str
    event_types: list[str] | None  #: None: every job event
    job_types: list[str] | None  #: None: jobs of every type
    description: str | None
    secret_id: str


@dataclass(frozen=True, slots=True)
class WebhookUpdated(Event):
    """The endpoint's URL, filters or description were replaced (the whole set, as the event holds them)."""

    type: ClassVar[str] = "WebhookUpdated"

    tenant: str
    webhook_id: str
    url: str
    event_types: list[str] | None
    job_types: list[str] | None
    description: str | None


@dataclass(frozen=True, slots=True)
class WebhookSecretRotated(Event):
    """A new secret signs from now on; the one before still signs too until `previous_expires_at`."""

    type: ClassVar[str] = "WebhookSecretRotated"
    _datetimes: ClassVar[tuple[str, ...]] = ("previous_expires_at",)

    tenant: str
    webhook_id: str
    secret_id: str
    previous_secret_id: str
    previous_expires_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookDisabled(Event):
    """Nothing is sent to the endpoint until it is enabled: by hand, or after its retries ran out."""

    type: ClassVar[str] = "WebhookDisabled"

    tenant: str
    webhook_id: str
    reason: str | None = None
    delivery_id: str | None = None  #: the delivery whose retries ran out, when that was why


@dataclass(frozen=True, slots=True)
class WebhookEnabled(Event):
    type: ClassVar[str] = "WebhookEnabled"

    tenant: str
    webhook_id: str


@dataclass(frozen=True, slots=True)
class WebhookDeleted(Event):
    type: ClassVar[str] = "WebhookDeleted"

    tenant: str
    webhook_id: str


@dataclass(frozen=True, slots=True)
class WebhookResendRequested(Event):
    """A delivery was queued again by hand."""

    type: ClassVar[str] = "WebhookResendRequested"

    tenant: str
    webhook_id: str
    delivery_id: str


#: the events of webhook endpoints' streams
WEBHOOK_EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        WebhookCreated, WebhookUpdated, WebhookSecretRotated, WebhookDisabled, WebhookEnabled, WebhookDeleted,
        WebhookResendRequested,
    )
}
