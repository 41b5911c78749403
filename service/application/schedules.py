"""Schedules: a tenant's cron schedules that create jobs from a template (domain/schedule.py).

A schedule's definition and its changes are events of its own stream: creating, updating,
pausing, resuming and deleting decide them on the stream's state and append them; the schedules
read model follows in the same transaction (eventlog/schedule_rows.py). Its fires are the
scheduler's (application/scheduler.py). Each tenant has its own schedules: another tenant's
name is not found, like one never created.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from jobledger.domain import errors, schedule as schedule_stream
from jobledger.application import bodies, cron as cron_times
from jobledger.application.json_types import json_int, text
from jobledger.application.keyed_lock import KeyedLock
from jobledger.application.tenant_limits import PerTenant
from jobledger.application.types import TypeRegistry
from jobledger.eventlog import codec
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import RecordedEvent, ScheduleRow

_ATTEMPTS = 5  # a change read and decided again after another instance changed the schedule first
NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"  #: letters, digits and . _ : - (it goes in URLs)
MAX_LISTED = 500  #: schedules in one page of GET /schedules
MAX_SCHEDULES = PerTenant(1000, "JOBLEDGER_MAX_SCHEDULES")  #: schedules (not deleted) a tenant may have


class JobTemplate(bodies.CreateJobBody):
    """The job each fire creates: a POST /jobs body, less run_at (a fire's job is due at once) and
    depends_on. Fields left out take the job type's defaults as they are at each fire."""

    run_at: None = Field(None, description="always null: a schedule's jobs are due at their fire time")
    depends_on: None = Field(
        None, description="always null: a fire's job waits on no other job (a parent would be the same job for every fire)"
    )

    def parents(self) -> tuple:
        return ()


class ScheduleDefinition(bodies.Body):
    cron: text(cron_times.MAX_EXPRESSION, 1) = Field(
        description="five fields (minute hour day-of-month month day-of-week), or six with seconds first"
    )
    timezone: text(100, 1) = Field("UTC", description="the IANA time zone the expression's times are in")
    job: JobTemplate = Field(description="the job each fire creates")
    overlap: Literal["skip", "allow", "cancel_previous"] = Field(
        "allow", description="when the previous fire's job is unfinished: skip this fire, allow both, or cancel it"
    )
    catch_up: Literal["none", "latest", "all"] = Field(
        "latest", description="fire times missed while no instance ran: none, the latest one, or the last catch_up_limit"
    )
    catch_up_limit: json_int(1, 1000) = Field(10, description="missed fire times that catch_up all fires at most")

    def config(self) -> dict[str, Any]:
        """The definition as stored: the template keeps only the fields it was given (the type's
        defaults apply to the others at each fire)."""
        stored = self.model_dump(mode="json", exclude={"job", "name"})
        return {**stored, "job": self.job.model_dump(mode="json", exclude_unset=True)}


class CreateScheduleBody(ScheduleDefinition):
    name: str = Field(min_length=1, max_length=128, pattern=NAME_PATTERN)


class PauseScheduleBody(bodies.Body):
    reason: text(1000) | None = Field(None, description="why it stops firing")


def answer(row: ScheduleRow) -> dict[str, Any]:
    """A schedule as clients see it: its definition, status, next fire time and latest fires."""
    config = row.config
    active = row.status == "active"
    return {
        "name": row.name, **config, "status": row.status, "paused_reason": row.paused_reason,
        "next_fire_at": row.next_fire_at.isoformat() if active and row.next_fire_at else None,
        "last_fires": row.last_fires[::-1], "version": row.version,
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }


class Schedules:
    def __init__(self, stores: Stores, types: TypeRegistry, clock, max_per_tenant: PerTenant[int] = MAX_SCHEDULES):
        self.stores = stores
        self.types = types
        self.clock = clock  # the jobs' clock: () -> now (tests set it)
        self.max_per_tenant = max_per_tenant  # schedules a tenant may have (not deleted)
        self._creating = KeyedLock()  # a tenant's creates take turns in this instance: its count is exact here

    async def checked(self, tenant: str, definition: ScheduleDefinition) -> datetime:
        """The definition's first fire time from now; InvalidCommand naming `cron`, `timezone` or the
        template's field (`job.payload...`) that the job type refuses."""
        first = cron_times.check(definition.cron, definition.timezone, self.clock())
        try:
            await self.types.check_payload(tenant, definition.job.type, definition.job.payload)
        except errors.InvalidCommand as exc:
            fields = [{**f, "field": f"job.{f['field']}"} for f in exc.details["fields"]]
            raise errors.InvalidCommand(fields=fields) from None
        return first

    async def create(self, tenant: str, body: CreateScheduleBody, meta: dict[str, Any]) -> ScheduleRow:
        """A new schedule; LimitReached past max_per_tenant (instances counting at once may pass it by one each)."""
        first = await self.checked(tenant, body)
        async with self._creating.held(tenant):
            if await self.stores.schedules.count_schedules(tenant) >= self.max_per_tenant.of(tenant):
                raise self.max_per_tenant.reached(tenant, "schedules")
            return await self.change(tenant, body.name, "create", meta, config=body.config(), next_fire_at=first)

    async def update(self, tenant: str, name: str, body: ScheduleDefinition, meta: dict[str, Any]) -> ScheduleRow:
        first = await self.checked(tenant, body)
        return await self.change(tenant, name, "update", meta, config=body.config(), next_fire_at=first)

    async def resume(self, tenant: str, name: str, meta: dict[str, Any]) -> ScheduleRow:
        """Fire again from now on; the times passed while paused are not caught up."""
        row = await self.get(tenant, name)
        first = cron_times.check(row.config["cron"], row.config["timezone"], self.clock())
        return await self.change(tenant, name, "resume", meta, next_fire_at=first)

    async def change(self, tenant: str, name: str, trigger: str, meta: dict[str, Any], **args: Any) -> ScheduleRow:
        """Decide `trigger` on the schedule's stream and append what it records (nothing when it
        changes nothing); the schedule as its read model has it after."""
        stream = schedule_stream.stream_id(tenant, name)
        for _ in range(_ATTEMPTS):
            state = await self.state(tenant, name)
            new_events = schedule_stream.decide(state, trigger, **args)
            if not new_events:
                break
            now = self.clock()
            recorded = [codec.new_event(e, now, {**meta, "tenant": tenant}) for e in new_events]
            try:
                await self.stores.log.append(stream, state.version, recorded)
            except errors.VersionConflict:
                continue
            break
        else:
            raise errors.VersionConflict(stream, state.version, reason=f"schedule {name!r} kept changing; try again")
        row = await self.stores.schedules.get_schedule(tenant, name)
        assert row is not None  # the trigger wrote it with the append
        return row

    async def state(self, tenant: str, name: str) -> schedule_stream.ScheduleState:
        """The schedule's state as its read model holds it (its version is the stream's)."""
        row = await self.stores.schedules.get_schedule(tenant, name)
        if row is None:
            return schedule_stream.ScheduleState(tenant, name)
        return state_of(row)

    async def get(self, tenant: str, name: str) -> ScheduleRow:
        """The tenant's schedule; ScheduleNotFound if it has none of that name (or deleted it)."""
        row = await self.stores.schedules.get_schedule(tenant, name)
        if row is None or row.status == "deleted":
            raise errors.ScheduleNotFound(f"no schedule {name!r}", schedule=name)
        return row

    async def page(self, tenant: str, after: str | None, limit: int) -> list[ScheduleRow]:
        return await self.stores.schedules.list_schedules(tenant, after, limit)

    async def events(self, tenant: str, name: str) -> list[RecordedEvent]:
        """The schedule's history, a deleted one's too; ScheduleNotFound if it never existed."""
        recorded = await self.stores.log.read_stream(schedule_stream.stream_id(tenant, name))
        if not recorded:
            raise errors.ScheduleNotFound(f"no schedule {name!r}", schedule=name)
        return recorded


def state_of(row: ScheduleRow) -> schedule_stream.ScheduleState:
    """The domain's state of a schedule read from its row."""
    return schedule_stream.ScheduleState(
        row.tenant, row.name, row.version, schedule_stream.ScheduleStatus(row.status), row.config, row.paused_reason,
        row.next_fire_at, row.generation, None if row.last_job_id is None else str(row.last_job_id),
    )
