"""Worker protocol routes: claim, heartbeat, retry, artifacts (job types: type_routes.py)."""

from aiohttp import web

from jobledger.domain import commands, errors
from jobledger.application import bodies, estimates, tracing
from jobledger.web import auth, handling, headers, keys, schemas
from jobledger.application.types import DEFAULT_LEASE_SECONDS

routes = web.RouteTableDef()



@routes.post("/workers/claim")
@auth.requires("work")
async def claim(request: web.Request) -> web.Response:
    principal = auth.principal_of(request)
    auth.check_whole_tenant(principal, "claim")  # the queue holds every user's jobs
    body = await schemas.read_body(request, bodies.ClaimBody)
    wanted = tuple(body.types) if body.types is not None else principal.types
    for index, job_type in enumerate(body.types or ()):
        principal.check_type(job_type, f"types.{index}")
    types = request.app[keys.types_key]
    max_running, lease_seconds = await types.claim_limits(principal.tenant, wanted, body.lease_seconds)
    meta = {**handling.meta(request), "worker_id": body.worker_id}  # the key acts; the worker it names is kept
    with tracing.claiming(body.worker_id):
        claimed = await request.app[keys.jobs_key].claim(
            body.worker_id, wanted, body.limit, lease_seconds, meta, body.wait_seconds, max_running, principal.tenant,
            gone=lambda: request.transport is None or request.transport.is_closing(),
            paused=lambda: types.paused(principal.tenant),
        )
        traces = await tracing.claimed(request.app[keys.stores_key].log, [c.snapshot.job for c in claimed], body.worker_id)
    found = await handling.estimates_of(request, [c.snapshot.job for c in claimed])
    # a lease token is URL-safe base64, a stored traceparent hex and dashes: nothing needs escaping in JSON
    jobs = ",".join(
        f'{estimates.spliced(c.snapshot.document_json, estimate)[:-1]},"lease_token":"{c.lease_token}",'
        f'"traceparent":{_text(traces[c.snapshot.job.id])}}}'
        for c, estimate in zip(claimed, found, strict=True)
    )
    return web.Response(text=f'{{"jobs":[{jobs}]}}', content_type="application/json")


def _text(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'


@routes.post("/jobs/{id}/heartbeat")
@auth.requires("work")
async def heartbeat(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.HeartbeatBody)
    job_id = handling.job_id(request)
    lease_seconds = body.lease_seconds
    if lease_seconds is None:
        job = (await request.app[keys.jobs_key].load(job_id, auth.principal_of(request))).job
        job_type = await request.app[keys.types_key].get(job.tenant, job.type)
        lease_seconds = (job_type and job_type.lease_seconds) or DEFAULT_LEASE_SECONDS
    return await handling.execute(request, commands.Heartbeat(lease_seconds, **bodies.lease(body)))


@routes.post("/jobs/{id}/release")
@auth.requires("work")
async def release(request: web.Request) -> web.Response:
    """The worker gives its job back unfinished: queued again at once, and the attempt does not count."""
    body = await schemas.read_body(request, bodies.ReleaseBody)
    return await handling.execute(request, commands.ReleaseJob(body.reason, **bodies.lease(body)))


@routes.post("/jobs/{id}/retry")
@auth.requires("manage")
async def retry(request: web.Request) -> web.Response:
    await schemas.read_body(request, bodies.RetryBody)
    return await handling.execute(request, commands.RetryJob(requested_by=handling.meta(request)["actor"]))


@routes.post("/jobs/{id}/artifacts")
@auth.requires("work")
async def add_artifact(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.ArtifactBody)
    size = bodies.artifact_size(body)
    return await handling.execute(request, commands.AddArtifact(body.name, body.content_type, body.data, size, **bodies.lease(body)))


@routes.get("/jobs/{id}/artifacts")
@auth.requires("read")
async def list_artifacts(request: web.Request) -> web.Response:
    snapshot = await request.app[keys.jobs_key].load(handling.job_id(request), auth.principal_of(request))
    return handling.json_response({"artifacts": snapshot.document["artifacts"]})


@routes.get("/jobs/{id}/artifacts/{name}")
@auth.requires("read")
async def get_artifact(request: web.Request) -> web.Response:
    job_id, name = handling.job_id(request), request.match_info["name"]
    job = (await request.app[keys.jobs_key].load(job_id, auth.principal_of(request))).job
    artifact = next((a for a in job.artifacts if a.name == name), None)
    if artifact is None:
        raise errors.ArtifactNotFound(f"job has no artifact {name!r}", artifact=name)
    history = await request.app[keys.stores_key].log.read_stream(job_id)
    return headers.artifact_response(name, artifact.content_type, history[artifact.version - 1].data["data"])
