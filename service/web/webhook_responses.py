"""The answers of the webhook routes (web/webhook_routes.py), as OpenAPI documents them."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from jobledger.eventlog.records import Attempt, Delivery, WebhookRow
from jobledger.web.responses import Answer, Count, Event, Position


class Webhook(Answer):
    """A webhook endpoint; its secret is never shown but when it is made (create, rotate)."""

    id: str
    url: str
    event_types: list[str] | None = Field(description="the job events sent; null: every one")
    job_types: list[str] | None = Field(description="only jobs of these types; null: every type")
    description: str | None
    status: Literal["active", "disabled"]
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None = Field(description="until when the secret before the last rotation still signs")
    created_at: datetime
    updated_at: datetime
    version: Count = Field(description="events in the endpoint's stream")


class WebhookCreated(Webhook):
    secret: str = Field(pattern="^whsec_[A-Za-z0-9+/=]+$", description="shown this once: keep it to check signatures")


class WebhookRotated(Webhook):
    secret: str = Field(pattern="^whsec_[A-Za-z0-9+/=]+$", description="the new secret, shown this once")


class WebhookList(Answer):
    webhooks: list[Webhook]


class WebhookAttempt(Answer):
    attempt: int = Field(ge=1)
    attempted_at: datetime
    status_code: int | None = Field(description="what the endpoint answered; null: no answer (see error)")
    error: str | None
    duration_ms: float = Field(ge=0)


class WebhookDelivery(Answer):
    id: str = Field(description="the webhook-id header of every attempt")
    job_id: str
    position: Position
    event_type: str
    state: Literal["pending", "delivered", "failed"]
    attempts: list[WebhookAttempt]
    next_attempt_at: datetime | None = Field(description="when it is tried next, while pending")
    created_at: datetime
    delivered_at: datetime | None


class WebhookDeliveries(Answer):
    deliveries: list[WebhookDelivery]


class WebhookEvents(Answer):
    id: str
    stream_id: str = Field(description="the endpoint's stream in the log (its events' `job_id`)")
    events: list[Event]


def webhook(row: WebhookRow, **more) -> dict:
    """An endpoint as clients see it."""
    return {
        "id": row.webhook_id, "url": row.url,
        "event_types": None if row.event_types is None else list(row.event_types),
        "job_types": None if row.job_types is None else list(row.job_types),
        "description": row.description, "status": row.status, "disabled_reason": row.disabled_reason,
        "previous_secret_expires_at": row.previous_expires_at and row.previous_expires_at.isoformat(),
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(), "version": row.version,
        **more,
    }


def delivery(found: Delivery, attempts: list[Attempt]) -> dict:
    return {
        "id": found.delivery_id, "job_id": str(found.job_id), "position": found.position, "event_type": found.event_type,
        "state": found.state,
        "attempts": [
            {"attempt": a.attempt, "attempted_at": a.attempted_at.isoformat(), "status_code": a.status_code,
             "error": a.error, "duration_ms": round(a.duration_ms, 3)}
            for a in attempts
        ],
        "next_attempt_at": found.next_attempt_at.isoformat() if found.state == "pending" and found.next_attempt_at else None,
        "created_at": found.created_at.isoformat(), "delivered_at": found.delivered_at and found.delivered_at.isoformat(),
    }
