"""The scheduler: each service instance fires the schedules whose time has come.

A fire creates its job and appends ScheduleFired to the schedule's stream in one transaction
(ScheduleStore.fire_due). The job's id comes from its idempotency key, which names the schedule
and the fire time (domain/schedule.py): the same fire on any instance is the same job, and the
schedule's expected version lets one fire through. Instances on one PostgreSQL share the due
schedules (each takes those no other holds) and never fire one time twice.

The loop sleeps until the earliest next fire time, or until the log shows a schedule created,
updated or resumed on any instance (which may fire sooner). Planning a batch runs off the event
loop (a thread on PostgreSQL, SQLite's writer thread).
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jobledger.domain import commands, decide, errors, events, schedule as schedule_stream, schedule_events
from jobledger.domain.job import fold
from jobledger.domain.status import TERMINAL
from jobledger.application import cron, type_schemas
from jobledger.application.jobs import Jobs, request_hash
from jobledger.application.schedules import JobTemplate, state_of
from jobledger.application.types import JobType, TypeRegistry
from jobledger.eventlog import codec
from jobledger.eventlog.records import AppendRequest, DueSchedule, RecordedEvent
from jobledger.projections import job_status

log = logging.getLogger("jobledger.scheduler")

BATCH = 100  #: schedules fired in one transaction
LANES = 3  #: fire transactions of one instance at once
GRACE = timedelta(seconds=60)  #: a fire time this late still fires on time; older ones are missed (catch_up)
ON_TIME_LIMIT = 1000  #: fire times of one schedule handled at once (a schedule of every second, 60 in the grace)
MAX_SLEEP = 30.0  #: seconds the loop sleeps at most with nothing due (a wake-up lost is found again)
BUSY_SLEEP = 0.02  #: seconds before looking again at due schedules another instance holds
_WAKING = frozenset({"ScheduleCreated", "ScheduleUpdated", "ScheduleResumed"})
_FINISHED = frozenset(s.value for s in TERMINAL)

#: (the tenant's type as read, its name, a payload): InvalidCommand if a create of it would be refused (TypeRegistry.check_loaded)
PayloadCheck = Callable[[JobType | None, str, Any], None]


@dataclass
class _Round:
    """One transaction's plan: the tenants whose job types it lacked, and how many it handled."""

    types: dict[str, dict[str, JobType]]
    missing: set[str]
    handled: int = 0


class Scheduler:
    def __init__(self, jobs: Jobs, types: TypeRegistry):
        self.jobs = jobs
        self.types = types
        self._woken = asyncio.Event()

    def seen(self, batch: Iterable[RecordedEvent]) -> None:
        """The log moved (on any instance): wake the loop if a schedule may now fire sooner."""
        if any(e.type in _WAKING for e in batch):
            self._woken.set()

    async def tick(self) -> int:
        """Handle every fire time due now; how many schedules were handled (another instance's
        are left to it). LANES transactions run at once: one waits on its commit while another plans."""
        now = self.jobs.clock()
        types: dict[str, dict[str, JobType]] = {}
        return sum(await asyncio.gather(*(self._lane(now, types) for _ in range(LANES))))

    async def _lane(self, now: datetime, types: dict[str, dict[str, JobType]]) -> int:
        total = 0
        while True:
            round_ = _Round(types, set())
            await self.jobs.stores.schedules.fire_due(now, BATCH, lambda due: self._plan(due, now, round_))
            total += round_.handled
            for tenant in round_.missing:
                types[tenant] = await self.types.all(tenant)
            if not round_.missing and round_.handled < BATCH:
                return total

    def _plan(self, due: list[DueSchedule], now: datetime, round_: _Round) -> list[AppendRequest]:
        requests: list[AppendRequest] = []
        for schedule in due:
            tenant = schedule.row.tenant
            if tenant not in round_.types:
                round_.missing.add(tenant)
                continue
            try:
                check = functools.partial(self.types.check_loaded, budget=type_schemas.INLINE_BUDGET)
                requests += plan_fires(schedule, now, round_.types[tenant], check)
            except errors.InvalidCommand as exc:  # its job would be refused now (its type changed since)
                log.warning("schedule %r of tenant %r cannot fire: paused: %s", schedule.row.name, tenant, exc)
                requests.append(_paused(schedule, now, f"cannot fire: {exc}"))
            except Exception as exc:  # one schedule that cannot fire must not hold back the others
                log.exception("schedule %r of tenant %r cannot fire: paused", schedule.row.name, tenant)
                requests.append(_paused(schedule, now, f"cannot fire: {exc}"))
            round_.handled += 1
        return requests

    async def run(self) -> None:
        """Fire forever; errors are logged, never fatal."""
        while True:
            self._woken.clear()  # before the tick: what is created meanwhile wakes the next sleep
            delay = 1.0
            try:
                handled = await self.tick()
                delay = await self._delay(handled)
            except errors.StoreUnavailable as exc:
                log.warning("schedules not fired: %s", exc)
            except Exception:
                log.exception("schedules not fired")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._woken.wait()

    async def _delay(self, handled: int) -> float:
        """Seconds until the earliest next fire time (a little while when it has come: another
        instance holds those schedules now)."""
        at = await self.jobs.stores.schedules.next_fire_at()
        if at is None:
            return MAX_SLEEP
        seconds = (at - self.jobs.clock()).total_seconds()
        return min(MAX_SLEEP, seconds) if seconds > 0 else (0 if handled else BUSY_SLEEP)


def plan_fires(schedule: DueSchedule, now: datetime, types: dict[str, JobType], check: PayloadCheck) -> list[AppendRequest]:
    """The appends that handle a due schedule's fire times up to `now`: its stream's events, the
    jobs they create, and the previous jobs they cancel. Each job's payload is checked against
    its type as it is now (`check`), as a create's is: a schema changed since the schedule was
    made is the one a fire meets (an error pauses the schedule, saying why)."""
    state = state_of(schedule.row)
    config = state.config
    expression, zone = config["cron"], config["timezone"]
    first = state.next_fire_at
    cut = now - GRACE
    on_time = cron.between(expression, zone, max(first, cut), now, ON_TIME_LIMIT)
    missed: list[datetime] = []
    if first < cut:
        wanted = {"none": 1, "latest": 1}.get(config.get("catch_up", "latest"), config.get("catch_up_limit", 10) + 1)
        missed = cron.latest(expression, zone, first, cut, wanted)
    late, on_time = schedule_stream.catch_up(config, on_time, missed)
    meta = {"actor": "scheduler", "schedule": state.name, "tenant": state.tenant}
    stream_events: list[events.Event] = []
    dropped = _last_dropped(expression, zone, first, missed, late)
    if dropped is not None:
        stream_events.append(schedule_stream.missed(state, first, dropped, _next(config, dropped)))
    times = [(at, True) for at in late] + [(at, False) for at in on_time]
    if config.get("overlap") == "cancel_previous" and len(times) > 1:
        for at, _ in times[:-1]:  # each would cancel the one before: only the last makes a job
            reason = "superseded: a later fire time due at once cancels it (overlap cancel_previous)"
            stream_events.append(schedule_events.ScheduleFireSkipped(state.tenant, state.name, at, reason, _next(config, at)))
        times = times[-1:]
    previous_running = schedule.last_job_status is not None and schedule.last_job_status not in _FINISHED
    job_requests: list[AppendRequest] = []
    for at, is_late in times:
        key = schedule_stream.fire_key(state.name, state.generation, at)
        job_id = schedule_stream.fire_job_id(state.tenant, key)
        fire = schedule_stream.fire(state, at, _next(config, at), str(job_id), previous_running, is_late)
        stream_events.append(fire.event)
        state = schedule_stream.evolve(state, fire.event)
        if fire.cancels is not None and schedule.last_job_doc is not None:
            job_requests += _cancel(schedule.last_job_doc, state.name, now, meta)
        if fire.creates:
            job_requests.append(_create(job_id, key, state.tenant, config["job"], types, check, now, meta))
            previous_running = True
    if not stream_events:
        return []
    recorded = [codec.new_event(e, now, meta) for e in stream_events]
    return [AppendRequest(schedule.row.stream_id, schedule.row.version, recorded), *job_requests]


def _paused(schedule: DueSchedule, now: datetime, reason: str) -> AppendRequest:
    """SchedulePaused, by the scheduler, for a schedule whose fire failed (a definition stored
    before a check it now fails): it stops being due, and its history says why."""
    row = schedule.row
    event = schedule_events.SchedulePaused(row.tenant, row.name, reason[:1000])
    meta = {"actor": "scheduler", "schedule": row.name, "tenant": row.tenant}
    return AppendRequest(row.stream_id, row.version, [codec.new_event(event, now, meta)])


def _last_dropped(
    expression: str, zone: str, first: datetime, missed: list[datetime], late: list[datetime]
) -> datetime | None:
    """The last of the missed fire times (from `first` on) that do not fire late, if any: `missed`
    holds the latest ones only, `late` the end of it that fires."""
    if len(missed) > len(late):
        return missed[len(missed) - len(late) - 1]
    if missed and missed[0] != first:  # earlier ones were not listed, and all listed fire
        return cron.latest(expression, zone, first, missed[0], 1)[0]
    return None


def _next(config: dict[str, Any], at: datetime) -> datetime:
    return cron.after(config["cron"], config["timezone"], at)


def _create(job_id, key: str, tenant: str, template: dict[str, Any], types, check: PayloadCheck, now: datetime, meta) -> AppendRequest:
    body = JobTemplate.model_validate(template)
    check(types.get(body.type), body.type, body.payload)
    command = body.command(tenant, key, request_hash(template), types.get(body.type))
    new_events = decide.create(job_id, command, now)
    job = fold(None, new_events, now, job_id)
    return AppendRequest(job_id, 0, [codec.new_event(e, now, meta) for e in new_events], job_status.row(job))


def _cancel(doc: str, name: str, now: datetime, meta) -> list[AppendRequest]:
    job = job_status.job_from_document(codec.loads(doc))
    command = commands.CancelJob(reason=f"schedule {name!r} fired again (overlap cancel_previous)", cancelled_by="scheduler")
    try:
        new_events = decide.decide(job, command, now)
    except errors.JobServiceError:
        return []  # it finished meanwhile
    new_job = fold(job, new_events, now)
    return [AppendRequest(job.id, job.version, [codec.new_event(e, now, meta) for e in new_events], job_status.row(new_job))]
