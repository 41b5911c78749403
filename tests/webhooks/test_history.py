"""The dispatcher sees each endpoint as it was at each position of the log, not as it is now: a
dispatcher behind the head must not send what an endpoint, disabled then, did not ask for."""

from jobledger.application.jobs import utcnow
from jobledger.application.webhook_bodies import CreateWebhookBody, UpdateWebhookBody
from jobledger.application.webhook_delivery import Endpoints
from jobledger.application.webhooks import WebhookSettings, Webhooks
from jobledger.domain.status import WebhookStatus

META = {"actor": "test"}


async def test_an_endpoint_is_seen_as_it_was_at_each_position(store):
    webhooks = Webhooks(store, WebhookSettings(allowed=frozenset({"loopback"})))
    before = await store.log.head()
    row, _ = await webhooks.create("acme", CreateWebhookBody(url="http://127.0.0.1:9/a"), utcnow(), META)
    await webhooks.update("acme", row.webhook_id, UpdateWebhookBody(enabled=False), utcnow(), META)
    disabled_at = await store.log.head()
    await webhooks.update("acme", row.webhook_id, UpdateWebhookBody(job_types=["report"], enabled=True), utcnow(), META)
    now = await store.log.head()

    endpoints = Endpoints(store)
    await endpoints.refresh(True)

    assert endpoints.at(before + 1) == []  # not made yet
    assert [h.status for h in endpoints.at(disabled_at + 1)] == [WebhookStatus.DISABLED]
    [then] = endpoints.at(now + 1)
    assert (then.status, then.job_types, then.tenant) == (WebhookStatus.ACTIVE, ("report",), "acme")
    await webhooks.delete("acme", row.webhook_id, utcnow(), META)
    await endpoints.refresh(True)
    assert [h.status for h in endpoints.at(now + 1)] == [WebhookStatus.ACTIVE]  # deleted later: active then
    assert [h.status for h in endpoints.at(await store.log.head() + 1)] == [WebhookStatus.DELETED]


async def test_an_event_is_matched_against_its_own_tenants_endpoints_only(store):
    """However many endpoints other tenants hold, they cost a tenant's events nothing: the
    dispatcher looks only at the event's tenant's (each tenant's endpoints are capped apart)."""
    webhooks = Webhooks(store, WebhookSettings(allowed=frozenset({"loopback"})))
    for n in range(3):
        await webhooks.create("globex", CreateWebhookBody(url=f"http://127.0.0.1:9/g{n}"), utcnow(), META)
    mine, _ = await webhooks.create("acme", CreateWebhookBody(url="http://127.0.0.1:9/a"), utcnow(), META)
    endpoints = Endpoints(store)
    await endpoints.refresh(True)
    head = await store.log.head() + 1

    assert [h.webhook_id for h in endpoints.at(head, "acme")] == [mine.webhook_id]
    assert {h.tenant for h in endpoints.at(head, "globex")} == {"globex"} and len(endpoints.at(head, "globex")) == 3
    assert endpoints.at(head, "initech") == [] and len(endpoints.at(head)) == 4
