"""A schedule as a stream of its own in the log: created, updated, paused, resumed, deleted, and
each of its fire times handled (fired, skipped, or missed while nothing ran).

A tenant's schedule `name` is the stream `stream_id(tenant, name)`. Its definition (`config`:
cron, timezone, job template, overlap and catch-up policies) is what `POST /schedules`
registered; its status is the state machine's (machine.SCHEDULE_TRANSITIONS). The fire times
themselves come from the cron expression, worked out by the application (the library that reads
cron expressions is I/O-free but not ours to import here): each event that moves the schedule on
carries the next fire time, `next_fire_at`. Nothing here reads a clock or does I/O.
"""

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from jobledger.domain import errors, machine
from jobledger.domain import schedule_events as ev
from jobledger.domain.status import ScheduleStatus

_NAMESPACE = uuid.UUID("0b7e2c3a-51d4-5e0f-8a6b-3f1c9d2e7a40")  # schedule streams
_JOB_NAMESPACE = uuid.UUID("9c1d4e5f-2a3b-5c6d-8e7f-0a1b2c3d4e5f")  # the jobs their fires create
RECENT_FIRES = 10  #: fires (and skips) a schedule's read model keeps, newest last

OVERLAP_POLICIES = ("skip", "allow", "cancel_previous")
CATCH_UP_POLICIES = ("none", "latest", "all")


def stream_id(tenant: str, name: str) -> uuid.UUID:
    """The stream of the tenant's schedule `name`."""
    return uuid.uuid5(_NAMESPACE, f"{len(tenant)}:{tenant}{name}")  # unambiguous whatever the names hold


def fire_key(name: str, generation: int, fire_at: datetime) -> str:
    """The idempotency key of the job a fire creates: the schedule (`generation`: the version of
    the ScheduleCreated it fires under, so a schedule deleted and made again is another) and the
    fire time, in UTC."""
    return f"schedule:{name}:{generation}:{fire_at.isoformat()}"


def fire_job_id(tenant: str, key: str) -> uuid.UUID:
    """The id of the job a fire creates: the same fire, on any instance, makes the same id, which
    no other path (a create's Idempotency-Key has a namespace of its own) can take first."""
    return uuid.uuid5(_JOB_NAMESPACE, f"{len(tenant)}:{tenant}{key}")


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """A schedule's state, folded from its stream (or read from its read model row)."""

    tenant: str
    name: str
    version: int = 0  # events in its stream
    status: ScheduleStatus = ScheduleStatus.NEW
    config: dict[str, Any] = field(default_factory=dict)
    paused_reason: str | None = None
    next_fire_at: datetime | None = None
    generation: int = 0  # the version of its last ScheduleCreated
    last_job_id: str | None = None  # the job of its last fire

    @property
    def exists(self) -> bool:
        return self.status in (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED)


def evolve(state: ScheduleState, event: ev.Event) -> ScheduleState:
    """Apply one event of the schedule's stream."""
    version = state.version + 1
    if isinstance(event, ev.ScheduleCreated):
        return ScheduleState(
            state.tenant, state.name, version, ScheduleStatus.ACTIVE, event.config, None, event.next_fire_at, version
        )
    if isinstance(event, ev.ScheduleUpdated):
        return replace(state, version=version, config=event.config, next_fire_at=event.next_fire_at)
    if isinstance(event, ev.SchedulePaused):
        return replace(state, version=version, status=ScheduleStatus.PAUSED, paused_reason=event.reason)
    if isinstance(event, ev.ScheduleResumed):
        return replace(
            state, version=version, status=ScheduleStatus.ACTIVE, paused_reason=None, next_fire_at=event.next_fire_at
        )
    if isinstance(event, ev.ScheduleDeleted):
        return replace(state, version=version, status=ScheduleStatus.DELETED)
    if isinstance(event, ev.ScheduleFired):
        return replace(state, version=version, next_fire_at=event.next_fire_at, last_job_id=event.job_id)
    if isinstance(event, ev.ScheduleFireSkipped | ev.ScheduleFiresMissed):
        return replace(state, version=version, next_fire_at=event.next_fire_at)
    raise ValueError(f"{event.type} is not an event of a schedule")


def fold(state: ScheduleState, history: list[ev.Event]) -> ScheduleState:
    """`state` after `history` (from `ScheduleState(tenant, name)`, before its first event)."""
    for event in history:
        state = evolve(state, event)
    return state


def decide(
    state: ScheduleState, trigger: str, *, config: dict[str, Any] | None = None, reason: str | None = None,
    next_fire_at: datetime | None = None,
) -> list[ev.Event]:
    """The events `trigger` (create, update, pause, resume, delete) records: none when it would
    change nothing (a pause of a paused schedule, the same definition again). ScheduleExists for a
    create of a schedule that exists, ScheduleNotFound for a change of one that does not."""
    tenant, name = state.tenant, state.name
    try:
        machine.schedule_next(state.status, trigger)
    except machine.Refused:
        if trigger == "create":
            raise errors.ScheduleExists(schedule=name) from None
        if not state.exists:
            raise errors.ScheduleNotFound(f"no schedule {name!r}", schedule=name) from None
        return []
    if trigger in ("create", "update", "resume") and next_fire_at is None:
        raise errors.InvalidCommand(fields=[{"field": "cron", "reason": "the expression never fires"}])
    if trigger == "create":
        return [ev.ScheduleCreated(tenant, name, _given(config), next_fire_at)]
    if trigger == "update":
        return [] if config == state.config else [ev.ScheduleUpdated(tenant, name, _given(config), next_fire_at)]
    if trigger == "pause":
        return [ev.SchedulePaused(tenant, name, reason)]
    if trigger == "resume":
        return [ev.ScheduleResumed(tenant, name, next_fire_at)]
    return [ev.ScheduleDeleted(tenant, name)]


def _given(config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        raise errors.InvalidCommand(fields=[{"field": "body", "reason": "a definition is needed"}])
    return config


@dataclass(frozen=True, slots=True)
class Fire:
    """What one fire time does: the schedule's event, and whether it creates its job and cancels
    the previous fire's."""

    event: ev.Event
    creates: bool
    cancels: str | None = None


def fire(
    state: ScheduleState, fire_at: datetime, next_fire_at: datetime, job_id: str, previous_running: bool,
    late: bool = False,
) -> Fire:
    """Handle the fire time `fire_at` of an active schedule, by its overlap policy: `previous_running`
    says whether the job of its last fire is unfinished."""
    machine.schedule_next(state.status, "fire")  # Refused: only an active schedule fires
    tenant, name, previous = state.tenant, state.name, state.last_job_id
    overlap = state.config.get("overlap", "allow")
    if previous_running and overlap == "skip":
        reason = "overlap: the previous fire's job is not finished"
        return Fire(ev.ScheduleFireSkipped(tenant, name, fire_at, reason, next_fire_at, previous), creates=False)
    cancels = previous if previous_running and overlap == "cancel_previous" else None
    return Fire(ev.ScheduleFired(tenant, name, fire_at, job_id, next_fire_at, late, cancels), True, cancels)


def catch_up(
    config: dict[str, Any], on_time: list[datetime], missed: list[datetime]
) -> tuple[list[datetime], list[datetime]]:
    """Of the due fire times, those that fire: every one `on_time`, and of the `missed` ones (passed
    longer ago than the grace period, oldest first) as many as the catch-up policy takes: none,
    the latest (only when no time is on time), or the last `catch_up_limit`. Returns (the missed
    ones that fire late, the ones that fire on time)."""
    policy = config.get("catch_up", "latest")
    if policy == "none" or not missed:
        return [], on_time
    if policy == "latest":
        return ([] if on_time else missed[-1:]), on_time
    return missed[-int(config.get("catch_up_limit", 10)):], on_time


def missed(state: ScheduleState, first: datetime, last: datetime, next_fire_at: datetime) -> ev.Event:
    """Fire times from `first` to `last` passed and the catch-up policy leaves them out."""
    machine.schedule_next(state.status, "fire")
    return ev.ScheduleFiresMissed(state.tenant, state.name, first, last, next_fire_at)
