"""Job type routes: register, read, pause and resume a type, and read its history.

A type's definition and its pauses are events of the type's own stream (domain/job_type.py);
these routes decide and append them through the TypeRegistry, and answer from its read model.
"""

from aiohttp import web
from pydantic import Field

from jobledger.domain import errors, job_type as type_stream
from jobledger.application import bodies
from jobledger.application.types import JobType
from jobledger.eventlog.records import TypeRow
from jobledger.web import auth, handling, keys, schemas

routes = web.RouteTableDef()


class PauseBody(bodies.Body):
    reason: bodies.text(1000) | None = Field(None, description="why claims stop giving out the type's jobs")


def _answer(name: str, job_type: JobType | None, row: TypeRow | None, **more) -> dict:
    """A type as clients see it: its settings, whether it is paused, and its stream's version."""
    paused = row is not None and row.paused
    state = {"status": "paused" if paused else "active", "paused_reason": row.paused_reason if paused else None}
    return {"name": name, **(job_type.as_json() if job_type else {}), **state, "version": row.version if row else 0, **more}


async def _current(request: web.Request, tenant: str, name: str) -> tuple[JobType | None, TypeRow | None]:
    registry = request.app[keys.types_key]
    return await registry.get(tenant, name), (await registry.rows(tenant)).get(name)


@routes.put("/types/{name}")
@auth.requires("admin")
async def put_type(request: web.Request) -> web.Response:
    """Register a job type of the caller's tenant (each tenant has its own types): TypeDefined in its stream."""
    name = schemas.parse_path(schemas.TypePath, request.match_info).name
    job_type = await schemas.read_body(request, JobType)
    tenant = auth.principal_of(request).tenant
    registry = request.app[keys.types_key]
    await registry.put(tenant, name, job_type, request.app[keys.jobs_key].clock(), handling.meta(request))
    return handling.json_response(_answer(name, job_type, (await registry.rows(tenant)).get(name)))


@routes.get("/types")
@auth.requires("read")
async def list_types(request: web.Request) -> web.Response:
    registry, tenant = request.app[keys.types_key], auth.principal_of(request).tenant
    types, rows = await registry.all(tenant), await registry.rows(tenant)
    return handling.json_response({"types": [_answer(name, t, rows.get(name)) for name, t in sorted(types.items())]})


@routes.get("/types/{name}")
@auth.requires("read")
async def get_type(request: web.Request) -> web.Response:
    """One of the caller's tenant's types; another tenant's is not found, like one never registered."""
    name = schemas.parse_path(schemas.TypePath, request.match_info).name
    job_type, row = await _current(request, auth.principal_of(request).tenant, name)
    if job_type is None:
        raise errors.TypeNotFound(f"no job type {name!r}", type=name)
    return handling.json_response(_answer(name, job_type, row))


@routes.post("/types/{name}/pause")
@auth.requires("admin")
async def pause_type(request: web.Request) -> web.Response:
    """Stop claims giving out the type's jobs (creates still queue them; running jobs finish)."""
    name = schemas.parse_path(schemas.TypePath, request.match_info).name
    body = await schemas.read_body(request, PauseBody)
    return await _change(request, name, "pause", reason=body.reason)


@routes.post("/types/{name}/resume")
@auth.requires("admin")
async def resume_type(request: web.Request) -> web.Response:
    """Let claims give out the type's jobs again."""
    name = schemas.parse_path(schemas.TypePath, request.match_info).name
    await schemas.read_body(request, bodies.EmptyBody)
    return await _change(request, name, "resume")


async def _change(request: web.Request, name: str, trigger: str, **args) -> web.Response:
    """Pause or resume (a type need not be registered to be paused); `changed`: false if it already was."""
    tenant = auth.principal_of(request).tenant
    registry = request.app[keys.types_key]
    _, changed = await registry.change(tenant, name, trigger, request.app[keys.jobs_key].clock(), handling.meta(request), **args)
    if changed:
        request.app[keys.jobs_key].rows_written(None)  # a resume may feed this instance's waiting claims now
    job_type, row = await _current(request, tenant, name)
    return handling.json_response(_answer(name, job_type, row, changed=changed))


@routes.get("/types/{name}/events")
@auth.requires("log")
async def type_events(request: web.Request) -> web.Response:
    """The type's history: every definition, pause and resume, in order (none before migration 0014)."""
    name = schemas.parse_path(schemas.TypePath, request.match_info).name
    scope = auth.principal_of(request)
    recorded = await request.app[keys.types_key].events(scope.tenant, name)
    job_type, _ = await _current(request, scope.tenant, name)
    if not recorded and job_type is None:
        raise errors.TypeNotFound(f"no job type {name!r}", type=name)
    return handling.json_response({
        "name": name, "stream_id": str(type_stream.stream_id(scope.tenant, name)),
        "events": [e.as_json() for e in recorded],
    })
