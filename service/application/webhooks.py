"""Webhook endpoints: create, change, rotate the secret of, disable, enable, delete, and send a
delivery again, each an event of the endpoint's own stream (domain/webhook.py).

The webhooks read model follows in the append's transaction (eventlog/webhook_rows.py); the
secrets go to webhook_secrets, never into an event. A new secret is stored under a fresh id
before the event that names it is appended: if the append fails, the stored secret is named by
no event and never signs anything.
"""

import secrets as random_source
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobledger.domain import errors, webhook as stream
from jobledger.application import webhook_targets
from jobledger.application.keyed_lock import KeyedLock
from jobledger.application.tenant_limits import PerTenant
from jobledger.application.webhook_bodies import CreateWebhookBody, UpdateWebhookBody
from jobledger.eventlog import codec
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import RecordedEvent, WebhookRow

SECRET_BYTES = 32  #: random bytes in a secret (Standard Webhooks asks for 24 to 64)
_ATTEMPTS = 5  # a change decided again after another request changed the endpoint first
SENDER_ACTOR = {"actor": "webhook-sender"}  #: who disables an endpoint whose retries ran out
MAX_WEBHOOKS = PerTenant(100, "JOBLEDGER_MAX_WEBHOOKS")  #: endpoints (not deleted) a tenant may have


@dataclass(frozen=True)
class WebhookSettings:
    allowed: frozenset[str] = frozenset()  #: kinds of non-global addresses that may be targets
    rotation_overlap: float = 86400.0  #: seconds the previous secret still signs after a rotation
    max_per_tenant: PerTenant[int] = MAX_WEBHOOKS  #: endpoints a tenant may have (not deleted)


class Webhooks:
    def __init__(self, stores: Stores, settings: WebhookSettings):
        self.stores = stores
        self.settings = settings
        self._creating = KeyedLock()  # a tenant's creates take turns in this instance: its count is exact here

    async def create(self, tenant: str, body: CreateWebhookBody, now: datetime, meta: dict[str, Any]) -> tuple[WebhookRow, str]:
        """A new endpoint (WebhookCreated) and its secret, which is answered this once; LimitReached
        past max_per_tenant (instances counting at once may pass it by one each)."""
        await webhook_targets.checked_url(body.url, self.settings.allowed)
        async with self._creating.held(tenant):
            if await self.stores.webhooks.count_webhooks(tenant) >= self.settings.max_per_tenant.of(tenant):
                raise self.settings.max_per_tenant.reached(tenant, "webhooks")
            return await self._create(tenant, body, now, meta)

    async def _create(self, tenant: str, body: CreateWebhookBody, now: datetime, meta: dict[str, Any]) -> tuple[WebhookRow, str]:
        webhook_id = f"wh_{uuid.uuid4().hex}"
        secret, secret_id = await self._new_secret(webhook_id, now)
        state = stream.WebhookState(tenant, webhook_id)
        new = stream.create(
            state, url=body.url, event_types=body.event_types, job_types=body.job_types,
            description=body.description, secret_id=secret_id,
        )
        await self._append(state, new, now, meta)
        return await self.stores.webhooks.get_webhook(webhook_id), secret

    async def get(self, tenant: str, webhook_id: str) -> WebhookRow:
        """The tenant's endpoint; WebhookNotFound for another tenant's, a deleted one, or none."""
        row = await self.stores.webhooks.get_webhook(webhook_id)
        if row is None or row.tenant != tenant or row.status == "deleted":
            raise errors.WebhookNotFound(f"no webhook {webhook_id}", webhook_id=webhook_id)
        return row

    async def all(self, tenant: str) -> list[WebhookRow]:
        return await self.stores.webhooks.list_webhooks(tenant)

    async def update(self, tenant: str, webhook_id: str, body: UpdateWebhookBody, now: datetime, meta: dict[str, Any]) -> WebhookRow:
        """Change the URL, filters or description, and disable or enable: an event each."""
        row = await self.get(tenant, webhook_id)
        given = body.model_fields_set
        if given & {"url", "event_types", "job_types", "description"}:
            url = body.url if "url" in given else row.url
            if url != row.url:
                await webhook_targets.checked_url(url, self.settings.allowed)
            values = {name: getattr(body, name) if name in given else getattr(row, name)
                      for name in ("event_types", "job_types", "description")}
            await self.change(tenant, webhook_id, "update", now, meta, url=url, **values)
        if body.enabled is not None:
            await self.change(tenant, webhook_id, "enable" if body.enabled else "disable", now, meta)
        return await self.get(tenant, webhook_id)

    async def rotate(self, tenant: str, webhook_id: str, now: datetime, meta: dict[str, Any]) -> tuple[WebhookRow, str, datetime]:
        """A new secret (answered this once); the previous one still signs until the time answered."""
        await self.get(tenant, webhook_id)
        secret, secret_id = await self._new_secret(webhook_id, now)
        expires = now + timedelta(seconds=self.settings.rotation_overlap)
        await self.change(tenant, webhook_id, "rotate", now, meta, secret_id=secret_id, previous_expires_at=expires)
        return await self.get(tenant, webhook_id), secret, expires

    async def delete(self, tenant: str, webhook_id: str, now: datetime, meta: dict[str, Any]) -> None:
        """WebhookDeleted; its secrets are dropped, its deliveries no longer sent."""
        await self.get(tenant, webhook_id)
        await self.change(tenant, webhook_id, "delete", now, meta)
        await self.stores.webhooks.drop_secrets(webhook_id)

    async def resend(self, tenant: str, webhook_id: str, delivery_id: str, now: datetime, meta: dict[str, Any]) -> None:
        """Send a delivery again, its retries starting over (WebhookResendRequested)."""
        await self.get(tenant, webhook_id)
        delivery = await self.stores.webhooks.get_delivery(delivery_id)
        if delivery is None or delivery.webhook_id != webhook_id:
            raise errors.DeliveryNotFound(f"no delivery {delivery_id} of webhook {webhook_id}", delivery_id=delivery_id)
        await self.change(tenant, webhook_id, "resend", now, meta, delivery_id=delivery_id)
        await self.stores.webhooks.resend(delivery_id, now)

    async def change(self, tenant: str, webhook_id: str, trigger: str, now: datetime, meta: dict[str, Any], **args: Any) -> bool:
        """Apply `trigger` to the endpoint's stream; whether anything was appended."""
        for _ in range(_ATTEMPTS):
            state = await self.state(tenant, webhook_id)
            new = stream.decide(state, trigger, **args)
            if not new:
                return False
            try:
                await self._append(state, new, now, meta)
            except errors.VersionConflict:
                continue
            return True
        raise errors.VersionConflict(stream.stream_id(webhook_id), state.version, reason="the webhook kept changing; try again")

    async def state(self, tenant: str, webhook_id: str) -> stream.WebhookState:
        """The endpoint's state, folded from its stream (an empty one for another tenant's)."""
        recorded = await self.events(webhook_id)
        if recorded and recorded[0].data.get("tenant") != tenant:
            recorded = []
        return stream.fold(stream.WebhookState(tenant, webhook_id), [codec.domain_event(e) for e in recorded])

    async def events(self, webhook_id: str) -> list[RecordedEvent]:
        return await self.stores.log.read_stream(stream.stream_id(webhook_id))

    async def _append(self, state: stream.WebhookState, new: list, now: datetime, meta: dict[str, Any]) -> None:
        recorded = [codec.new_event(e, now, {**meta, "tenant": state.tenant}) for e in new]
        await self.stores.log.append(stream.stream_id(state.webhook_id), state.version, recorded)

    async def _new_secret(self, webhook_id: str, now: datetime) -> tuple[str, str]:
        secret = webhook_targets.new_secret(random_source.token_bytes(SECRET_BYTES))
        secret_id = f"sec_{uuid.uuid4().hex}"
        await self.stores.webhooks.put_secret(webhook_id, secret_id, secret, now)
        return secret, secret_id
