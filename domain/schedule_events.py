"""A schedule's events: the stream of its definition, pauses and fire times (domain/schedule.py)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from jobledger.domain.event import Event

# A schedule's own stream (domain/schedule.py): its definition, pauses, and each of its fire times.
# `next_fire_at` (UTC) is the first fire time still to handle after the event: the read model's
# column the scheduler looks up (eventlog/schedule_rows.py).


@dataclass(frozen=True, slots=True)
class ScheduleCreated(Event):
    type: ClassVar[str] = "ScheduleCreated"
    _datetimes: ClassVar[tuple[str, ...]] = ("next_fire_at",)

    tenant: str
    name: str
    config: dict[str, Any]  #: cron, timezone, job (the template), overlap, catch_up, catch_up_limit
    next_fire_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduleUpdated(Event):  # `config` replaces the one before; fire times count again from the update
    type: ClassVar[str] = "ScheduleUpdated"
    _datetimes: ClassVar[tuple[str, ...]] = ("next_fire_at",)

    tenant: str
    name: str
    config: dict[str, Any]
    next_fire_at: datetime


@dataclass(frozen=True, slots=True)
class SchedulePaused(Event):
    type: ClassVar[str] = "SchedulePaused"

    tenant: str
    name: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleResumed(Event):  # fires again from the resume on: times passed while paused are not caught up
    type: ClassVar[str] = "ScheduleResumed"
    _datetimes: ClassVar[tuple[str, ...]] = ("next_fire_at",)

    tenant: str
    name: str
    next_fire_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduleDeleted(Event):
    type: ClassVar[str] = "ScheduleDeleted"

    tenant: str
    name: str


@dataclass(frozen=True, slots=True)
class ScheduleFired(Event):
    """A fire time came: its job `job_id` was created in the same transaction (and, with the overlap
    policy cancel_previous, the previous fire's unfinished job `cancelled_job_id` cancelled)."""
    type: ClassVar[str] = "ScheduleFired"
    _datetimes: ClassVar[tuple[str, ...]] = ("fire_at", "next_fire_at")

    tenant: str
    name: str
    fire_at: datetime
    job_id: str
    next_fire_at: datetime
    late: bool = False  #: caught up after downtime (catch_up latest or all), not fired on time
    cancelled_job_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleFireSkipped(Event):
    """A fire time came and made no job: the previous fire's job `running_job_id` is not finished
    (overlap skip), or a later fire time due at once supersedes it (`reason` says which)."""
    type: ClassVar[str] = "ScheduleFireSkipped"
    _datetimes: ClassVar[tuple[str, ...]] = ("fire_at", "next_fire_at")

    tenant: str
    name: str
    fire_at: datetime
    reason: str
    next_fire_at: datetime
    running_job_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScheduleFiresMissed(Event):
    """Fire times from `first` to `last` passed while no instance ran the schedule, and the catch-up
    policy left them out (none; latest and all past their count)."""
    type: ClassVar[str] = "ScheduleFiresMissed"
    _datetimes: ClassVar[tuple[str, ...]] = ("first", "last", "next_fire_at")

    tenant: str
    name: str
    first: datetime
    last: datetime
    next_fire_at: datetime


#: the events of schedule streams
SCHEDULE_EVENT_TYPES: dict[str, type[Event]] = {cls.type: cls for cls in (
    ScheduleCreated, ScheduleUpdated, SchedulePaused, ScheduleResumed, ScheduleDeleted, ScheduleFired, ScheduleFireSkipped,
    ScheduleFiresMissed,
)}
