"""Schedules' answers, as pydantic models for the OpenAPI document (as service/web/responses.py
describes the jobs'): the handlers of schedule_routes.py build their JSON with
application.schedules.answer; these models only describe it."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from jobledger.web.responses import Answer, Count, Event


class Fire(Answer):
    """One of a schedule's latest fire times: the job it created, or why it made none."""

    fire_at: datetime
    job_id: UUID | None = Field(description="the job this fire created; null: skipped")
    skipped: str | None = Field(description="why it made no job (overlap skip, superseded); null: it made one")


class Schedule(Answer):
    """A schedule: its definition as given, its status, its next fire time and its latest fires."""

    name: str
    cron: str
    timezone: str
    job: dict[str, Any] = Field(description="the job template, with the fields it was given")
    overlap: Literal["skip", "allow", "cancel_previous"]
    catch_up: Literal["none", "latest", "all"]
    catch_up_limit: int = Field(ge=1)
    status: Literal["active", "paused", "deleted"]
    paused_reason: str | None
    next_fire_at: datetime | None = Field(description="when it fires next (UTC); null while paused or deleted")
    last_fires: list[Fire] = Field(description="its latest fires and skips, newest first")
    version: Count = Field(description="events in the schedule's stream")
    created_at: datetime
    updated_at: datetime


class SchedulePage(Answer):
    schedules: list[Schedule]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class ScheduleEvents(Answer):
    name: str
    stream_id: UUID = Field(description="the schedule's stream in the log (its events' `job_id`)")
    events: list[Event]
