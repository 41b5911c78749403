"""Schedule routes: create, list, read, update, pause, resume and delete a schedule, and read its
history. The rules live in application/schedules.py; each change is an event of the schedule's
stream (domain/schedule.py), and its fires are the scheduler's (application/scheduler.py).

A schedule belongs to the caller's tenant: another tenant's, like one never created, is not
found. A key limited to some job types sees and makes only schedules of those types.
"""

from aiohttp import web
from pydantic import Field

from jobledger.domain import errors, schedule as schedule_stream
from jobledger.application import bodies, schedules
from jobledger.eventlog.records import ScheduleRow
from jobledger.web import auth, handling, keys, schemas

routes = web.RouteTableDef()


class ScheduleListQuery(bodies.Body):
    limit: int = Field(100, ge=1, le=schedules.MAX_LISTED)
    cursor: bodies.Name | None = Field(None, description="next_cursor of the previous page")


def _of(request: web.Request) -> tuple[schedules.Schedules, auth.Principal]:
    return request.app[keys.schedules_key], auth.principal_of(request)


def _name(request: web.Request) -> str:
    return schemas.parse_path(schemas.TypePath, request.match_info).name


def _seen(principal: auth.Principal, row: ScheduleRow) -> ScheduleRow:
    """The row, if the caller may see its schedule (its tenant's, of a type its key is given)."""
    if not principal.sees(row.tenant, row.config["job"]["type"], None):
        raise errors.ScheduleNotFound(f"no schedule {row.name!r}", schedule=row.name)
    return row


async def _visible(request: web.Request, name: str) -> ScheduleRow:
    service, principal = _of(request)
    return _seen(principal, await service.get(principal.tenant, name))


@routes.post("/schedules")
@auth.requires("admin")
async def create_schedule(request: web.Request) -> web.Response:
    """Create a schedule of the caller's tenant (ScheduleCreated in its stream)."""
    body = await schemas.read_body(request, schedules.CreateScheduleBody)
    service, principal = _of(request)
    principal.check_type(body.job.type, "job.type")
    row = await service.create(principal.tenant, body, handling.meta(request))
    return handling.json_response(schedules.answer(row), status=201, headers={"Location": f"/schedules/{row.name}"})


@routes.get("/schedules")
@auth.requires("read")
async def list_schedules(request: web.Request) -> web.Response:
    """The tenant's schedules (not the deleted ones), by name."""
    query = schemas.parse_query(ScheduleListQuery, request.query)
    service, principal = _of(request)
    rows = await service.page(principal.tenant, query.cursor, query.limit + 1)
    page = rows[: query.limit]
    shown = [schedules.answer(r) for r in page if principal.sees(r.tenant, r.config["job"]["type"], None)]
    next_cursor = page[-1].name if len(rows) > query.limit else None
    return handling.json_response({"schedules": shown, "next_cursor": next_cursor})


@routes.get("/schedules/{name}")
@auth.requires("read")
async def get_schedule(request: web.Request) -> web.Response:
    return handling.json_response(schedules.answer(await _visible(request, _name(request))))


@routes.put("/schedules/{name}")
@auth.requires("admin")
async def update_schedule(request: web.Request) -> web.Response:
    """Replace a schedule's definition (ScheduleUpdated); its fire times count again from now."""
    name = _name(request)
    body = await schemas.read_body(request, schedules.ScheduleDefinition)
    service, principal = _of(request)
    await _visible(request, name)
    principal.check_type(body.job.type, "job.type")
    return handling.json_response(schedules.answer(await service.update(principal.tenant, name, body, handling.meta(request))))


@routes.post("/schedules/{name}/pause")
@auth.requires("admin")
async def pause_schedule(request: web.Request) -> web.Response:
    """Stop a schedule firing (a paused one stays as it is)."""
    name = _name(request)
    body = await schemas.read_body(request, schedules.PauseScheduleBody)
    service, principal = _of(request)
    await _visible(request, name)
    row = await service.change(principal.tenant, name, "pause", handling.meta(request), reason=body.reason)
    return handling.json_response(schedules.answer(row))


@routes.post("/schedules/{name}/resume")
@auth.requires("admin")
async def resume_schedule(request: web.Request) -> web.Response:
    """Fire again from now on: the times passed while it was paused are not caught up."""
    name = _name(request)
    await schemas.read_body(request, bodies.EmptyBody)
    service, principal = _of(request)
    await _visible(request, name)
    return handling.json_response(schedules.answer(await service.resume(principal.tenant, name, handling.meta(request))))


@routes.delete("/schedules/{name}")
@auth.requires("admin")
async def delete_schedule(request: web.Request) -> web.Response:
    """Delete a schedule (ScheduleDeleted): it fires no more; its history stays in the log."""
    name = _name(request)
    service, principal = _of(request)
    await _visible(request, name)
    return handling.json_response(schedules.answer(await service.change(principal.tenant, name, "delete", handling.meta(request))))


@routes.get("/schedules/{name}/events")
@auth.requires("log")
async def schedule_events(request: web.Request) -> web.Response:
    """The schedule's history: its definitions, pauses, fires and skips, in order (a deleted one's too)."""
    name = _name(request)
    service, principal = _of(request)
    recorded = await service.events(principal.tenant, name)
    row = await request.app[keys.stores_key].schedules.get_schedule(principal.tenant, name)
    if row is not None:
        _seen(principal, row)
    return handling.json_response({
        "name": name, "stream_id": str(schedule_stream.stream_id(principal.tenant, name)),
        "events": [e.as_json() for e in recorded],
    })
