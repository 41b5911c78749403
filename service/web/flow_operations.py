"""The OpenAPI rows of flows (README: Schedules, Webhooks), listed in service/web/openapi.py's table."""

from jobledger.application import bodies, schedules, webhook_bodies
from jobledger.web import schedule_answers, schedule_routes, webhook_responses as _wr, webhook_routes as _h
from jobledger.web.operation import Operation

_s, _S = schedule_routes, schedule_answers.Schedule
_SCHEDULES = (
    "Each fire time creates the template's job (idempotency key `schedule:<name>:<generation>:<fire time>`) and "
    "appends ScheduleFired, in one transaction, on exactly one instance. The overlap policy decides a fire whose "
    "previous job is unfinished; the catch-up policy the fire times missed while no instance ran (README, Schedules)."
)
_WH = (400, 404)  # a malformed id; no such endpoint (or delivery) of the caller's tenant

SCHEDULES = (
    Operation("post", "/schedules", _s.create_schedule, "Create a schedule (ScheduleCreated in its stream)", _S,
              body=schedules.CreateScheduleBody, status=201, errors=(409,), description=_SCHEDULES),
    Operation("get", "/schedules", _s.list_schedules, "The tenant's schedules, by name", schedule_answers.SchedulePage,
              query=_s.ScheduleListQuery),
    Operation("get", "/schedules/{name}", _s.get_schedule, "A schedule, its next fire time and latest fires", _S,
              errors=(400, 404)),
    Operation("put", "/schedules/{name}", _s.update_schedule, "Replace a schedule's definition", _S,
              body=schedules.ScheduleDefinition, errors=(404, 409)),
    Operation("post", "/schedules/{name}/pause", _s.pause_schedule, "Stop a schedule firing", _S,
              body=schedules.PauseScheduleBody, errors=(404, 409)),
    Operation("post", "/schedules/{name}/resume", _s.resume_schedule, "Fire a paused schedule again from now", _S,
              body=bodies.EmptyBody, errors=(404, 409)),
    Operation("delete", "/schedules/{name}", _s.delete_schedule, "Delete a schedule (its history stays)", _S,
              errors=(400, 404, 409)),
    Operation("get", "/schedules/{name}/events", _s.schedule_events, "A schedule's history: definitions, pauses, fires",
              schedule_answers.ScheduleEvents, errors=(400, 404)),
)
WEBHOOKS = (
    Operation("post", "/webhooks", _h.create_webhook, "Create a webhook endpoint (WebhookCreated); its secret, once",
              _wr.WebhookCreated, body=webhook_bodies.CreateWebhookBody, status=201, errors=(400, 409, 422)),
    Operation("get", "/webhooks", _h.list_webhooks, "The tenant's webhook endpoints", _wr.WebhookList),
    Operation("get", "/webhooks/{webhook_id}", _h.get_webhook, "A webhook endpoint", _wr.Webhook, errors=_WH),
    Operation("patch", "/webhooks/{webhook_id}", _h.update_webhook, "Change, disable or enable a webhook endpoint",
              _wr.Webhook, body=webhook_bodies.UpdateWebhookBody, errors=(*_WH, 422)),
    Operation("delete", "/webhooks/{webhook_id}", _h.delete_webhook, "Delete a webhook endpoint", None, status=204,
              errors=_WH),
    Operation("post", "/webhooks/{webhook_id}/rotate", _h.rotate_webhook_secret, "Rotate a webhook endpoint's secret; "
              "the new one, once", _wr.WebhookRotated, body=bodies.EmptyBody, errors=_WH),
    Operation("get", "/webhooks/{webhook_id}/deliveries", _h.list_webhook_deliveries, "A webhook endpoint's deliveries "
              "and their attempts", _wr.WebhookDeliveries, query=webhook_bodies.DeliveriesQuery, errors=_WH),
    Operation("post", "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", _h.resend_webhook_delivery,
              "Send a delivery again", None, body=bodies.EmptyBody, status=202, errors=_WH),
    Operation("get", "/webhooks/{webhook_id}/events", _h.webhook_events, "A webhook endpoint's history",
              _wr.WebhookEvents, errors=_WH),
)
