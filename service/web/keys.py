"""Typed application keys, shared by the modules that wire the service."""

from aiohttp import web

from jobledger.eventlog.follower import LogFollower
from jobledger.eventlog.protocols import Stores
from jobledger.web.config import Settings
from jobledger.application.estimates import Estimates
from jobledger.application.jobs import Jobs
from jobledger.web.live import Hub
from jobledger.application.metrics import Metrics
from jobledger.application.scheduler import Scheduler
from jobledger.application.schedules import Schedules
from jobledger.application.types import TypeRegistry
from jobledger.application.webhook_sender import Sender
from jobledger.application.webhooks import Webhooks

settings_key = web.AppKey("settings", Settings)
stores_key = web.AppKey("stores", Stores)
jobs_key = web.AppKey("jobs", Jobs)
started_key = web.AppKey("started", float)
types_key = web.AppKey("types", TypeRegistry)
follower_key = web.AppKey("follower", LogFollower)
hub_key = web.AppKey("hub", Hub)
request_id_key = web.RequestKey("request_id", str)  #: set by logs.request_context
metrics_key = web.AppKey("metrics", Metrics)
estimates_key = web.AppKey("estimates", Estimates)
schedules_key = web.AppKey("schedules", Schedules)
scheduler_key = web.AppKey("scheduler", Scheduler)
webhooks_key = web.AppKey("webhooks", Webhooks)
webhook_sender_key = web.AppKey("webhook_sender", Sender)
