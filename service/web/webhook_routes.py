"""Webhook routes: create, list, read, change, delete an endpoint, rotate its secret, read its
deliveries and history, and send a delivery again.

Every change is an event of the endpoint's own stream (domain/webhook.py), decided and appended
by application.webhooks; another tenant's endpoint answers 404, as one that never existed. The
secret is answered by the create and the rotation only.
"""

import asyncio
import contextlib

from aiohttp import web
from pydantic import Field

from jobledger.domain import webhook as stream
from jobledger.application import bodies, projection_runner, webhook_bodies, webhook_delivery, webhook_targets
from jobledger.application.webhook_sender import Sender
from jobledger.application.webhooks import WebhookSettings, Webhooks
from jobledger.web import auth, handling, keys, schemas, webhook_http, webhook_responses as answers

routes = web.RouteTableDef()


class WebhookPath(bodies.Body):
    webhook_id: bodies.text(100, 1) = Field(description="the endpoint's id")


class DeliveryPath(WebhookPath):
    delivery_id: bodies.text(100, 1) = Field(description="the delivery's id (its webhook-id header)")


async def context(app: web.Application):
    """The endpoints' use case, and this instance's dispatcher (following the log) and sender."""
    settings, stores, jobs = app[keys.settings_key], app[keys.stores_key], app[keys.jobs_key]
    allowed = webhook_targets.allowed_kinds(settings.webhook_allow_private)
    app[keys.webhooks_key] = webhooks = Webhooks(
        stores, WebhookSettings(allowed, settings.webhook_rotation_overlap, settings.per_tenant("max_webhooks"))
    )
    poster = webhook_http.Poster(allowed)
    delivery = webhook_delivery.DeliverySettings(
        schedule=webhook_delivery.parse_schedule(settings.webhook_retry_schedule), timeout=settings.webhook_timeout,
        allowed=allowed,
    )
    app[keys.webhook_sender_key] = sender = Sender(webhooks, poster.post, delivery, jobs.clock)
    follower = app[keys.follower_key]
    feed = projection_runner.Feed(follower.position)  # read and subscribed together: nothing falls between
    follower.subscribe(feed.add)
    dispatcher = webhook_delivery.Dispatcher(stores, feed, sender, jobs.clock)
    tasks = [asyncio.create_task(dispatcher.run()), asyncio.create_task(sender.run())]
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await sender.close()
    await poster.close()


def _context(request: web.Request):
    return request.app[keys.webhooks_key], auth.principal_of(request).tenant, request.app[keys.jobs_key].clock()


@routes.post("/webhooks")
@auth.requires("admin")
async def create_webhook(request: web.Request) -> web.Response:
    """A new endpoint of the caller's tenant (WebhookCreated); its secret is answered this once."""
    body = await schemas.read_body(request, webhook_bodies.CreateWebhookBody)
    webhooks, tenant, now = _context(request)
    row, secret = await webhooks.create(tenant, body, now, handling.meta(request))
    return handling.json_response(answers.webhook(row, secret=secret), status=201)


@routes.get("/webhooks")
@auth.requires("admin")
async def list_webhooks(request: web.Request) -> web.Response:
    webhooks, tenant, _ = _context(request)
    return handling.json_response({"webhooks": [answers.webhook(row) for row in await webhooks.all(tenant)]})


@routes.get("/webhooks/{webhook_id}")
@auth.requires("admin")
async def get_webhook(request: web.Request) -> web.Response:
    path = schemas.parse_path(WebhookPath, request.match_info)
    webhooks, tenant, _ = _context(request)
    return handling.json_response(answers.webhook(await webhooks.get(tenant, path.webhook_id)))


@routes.patch("/webhooks/{webhook_id}")
@auth.requires("admin")
async def update_webhook(request: web.Request) -> web.Response:
    """Change an endpoint's URL, filters or description (WebhookUpdated), or disable or enable it."""
    path = schemas.parse_path(WebhookPath, request.match_info)
    body = await schemas.read_body(request, webhook_bodies.UpdateWebhookBody)
    webhooks, tenant, now = _context(request)
    row = await webhooks.update(tenant, path.webhook_id, body, now, handling.meta(request))
    return handling.json_response(answers.webhook(row))


@routes.delete("/webhooks/{webhook_id}")
@auth.requires("admin")
async def delete_webhook(request: web.Request) -> web.Response:
    """Delete an endpoint (WebhookDeleted): nothing more is sent to it."""
    path = schemas.parse_path(WebhookPath, request.match_info)
    webhooks, tenant, now = _context(request)
    await webhooks.delete(tenant, path.webhook_id, now, handling.meta(request))
    return web.Response(status=204)


@routes.post("/webhooks/{webhook_id}/rotate")
@auth.requires("admin")
async def rotate_webhook_secret(request: web.Request) -> web.Response:
    """A new secret (answered this once); the previous one also signs until `previous_secret_expires_at`."""
    path = schemas.parse_path(WebhookPath, request.match_info)
    await schemas.read_body(request, bodies.EmptyBody)
    webhooks, tenant, now = _context(request)
    row, secret, _ = await webhooks.rotate(tenant, path.webhook_id, now, handling.meta(request))
    return handling.json_response(answers.webhook(row, secret=secret))


@routes.get("/webhooks/{webhook_id}/deliveries")
@auth.requires("admin")
async def list_webhook_deliveries(request: web.Request) -> web.Response:
    """The endpoint's latest deliveries, newest first, with every attempt."""
    path = schemas.parse_path(WebhookPath, request.match_info)
    query = schemas.parse_query(webhook_bodies.DeliveriesQuery, request.query)
    webhooks, tenant, _ = _context(request)
    await webhooks.get(tenant, path.webhook_id)
    found = await webhooks.stores.webhooks.list_deliveries(path.webhook_id, query.limit)
    return handling.json_response({"deliveries": [answers.delivery(d, a) for d, a in found]})


@routes.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/resend")
@auth.requires("admin")
async def resend_webhook_delivery(request: web.Request) -> web.Response:
    """Send a delivery again now, its retries starting over (WebhookResendRequested)."""
    path = schemas.parse_path(DeliveryPath, request.match_info)
    await schemas.read_body(request, bodies.EmptyBody)
    webhooks, tenant, now = _context(request)
    await webhooks.resend(tenant, path.webhook_id, path.delivery_id, now, handling.meta(request))
    request.app[keys.webhook_sender_key].queued()
    return web.Response(status=202)


@routes.get("/webhooks/{webhook_id}/events")
@auth.requires("admin")
async def webhook_events(request: web.Request) -> web.Response:
    """The endpoint's history: every change, in order (no secret is in any event)."""
    path = schemas.parse_path(WebhookPath, request.match_info)
    webhooks, tenant, _ = _context(request)
    await webhooks.get(tenant, path.webhook_id)
    recorded = await webhooks.events(path.webhook_id)
    return handling.json_response({
        "id": path.webhook_id, "stream_id": str(stream.stream_id(path.webhook_id)),
        "events": [e.as_json() for e in recorded],
    })
