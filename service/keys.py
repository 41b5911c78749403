"""Typed application keys, shared by the modules that wire the service."""

from aiohttp import web

from eventlog.follower import LogFollower
from eventlog.store import EventStore
from service.config import Settings
from service.jobs import Jobs
from service.live import Hub
from service.metrics import Metrics
from service.types import TypeRegistry

settings_key = web.AppKey("settings", Settings)
store_key = web.AppKey("store", EventStore)
jobs_key = web.AppKey("jobs", Jobs)
started_key = web.AppKey("started", float)
types_key = web.AppKey("types", TypeRegistry)
follower_key = web.AppKey("follower", LogFollower)
hub_key = web.AppKey("hub", Hub)
request_id_key = web.RequestKey("request_id", str)  #: set by logs.request_context
metrics_key = web.AppKey("metrics", Metrics)
