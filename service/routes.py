"""HTTP routes: parse, call the application layer, answer JSON. No rules here."""

import time
from typing import Any
from uuid import UUID

import orjson
from aiohttp import web

import service
from domain import commands, errors
from eventlog.store import JobFilter
from eventlog import codec
from projections import stats
from service import audit, auth, keys, logs, projection_runner, schemas
from service.jobs import Snapshot, request_hash, token_hash

routes = web.RouteTableDef()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def _job_id(request: web.Request) -> UUID:
    raw = request.match_info["id"]
    try:
        return UUID(raw)
    except ValueError:
        raise errors.JobNotFound(f"no job with id {raw!r}", id=raw, reason="not a UUID") from None


def _meta(request: web.Request, headers: schemas.MetaHeaders | None = None) -> dict[str, Any]:
    headers = headers or schemas.parse_headers(schemas.MetaHeaders, request.headers)
    request_id = request[keys.request_id_key]
    correlation_id = headers.correlation_id or request_id
    return {"actor": headers.actor or "api", "request_id": request_id, "correlation_id": correlation_id}


def lease(body: schemas.LeaseBody) -> dict[str, str | None]:
    """The keyword that carries a worker's lease into its command."""
    return {"lease_token_hash": token_hash(body.lease_token) if body.lease_token else None}


def _etag(version: int) -> str:
    return f'"{version}"'


def _job_response(snapshot: Snapshot, status: int = 200, **headers: str) -> web.Response:
    body = snapshot.document_json  # the status row's text, as written: no dict made and serialized again
    return web.Response(
        text=body, status=status, content_type="application/json", headers={"ETag": _etag(snapshot.job.version), **headers}
    )


async def execute(request: web.Request, command: commands.Command) -> web.Response:
    jobs = request.app[keys.jobs_key]
    scope = auth.principal_of(request)
    headers = schemas.parse_headers(schemas.CommandHeaders, request.headers)
    snapshot = await jobs.execute(_job_id(request), command, _meta(request, headers), headers.if_match, scope)
    return _job_response(snapshot)


@routes.post("/jobs")
@auth.requires("create")
async def create_job(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, schemas.CreateJobBody)
    headers = schemas.parse_headers(schemas.CreateHeaders, request.headers)
    principal = auth.principal_of(request)
    principal.check_type(body.type)
    job_type = await request.app[keys.types_key].check_payload(body.type, body.payload)
    digest = request_hash(body.model_dump(mode="json"))
    command = body.command(principal.tenant, headers.idempotency_key, digest, job_type)
    snapshot, created = await request.app[keys.jobs_key].create(command, _meta(request, headers))
    logs.bind(job_id=str(snapshot.job.id))  # for this request's log lines
    return _job_response(snapshot, 201 if created else 200, Location=f"/jobs/{snapshot.job.id}")


@routes.post("/jobs/batch")
@auth.requires("create")
async def create_jobs(request: web.Request) -> web.Response:
    """Create up to schemas.MAX_BATCH jobs in one request: all of them are written, or none."""
    body = await schemas.read_body(request, schemas.CreateJobsBody)
    headers = schemas.parse_headers(schemas.MetaHeaders, request.headers)
    if "Idempotency-Key" in request.headers:
        reason = "a batch takes an idempotency_key per job, in the job"
        raise errors.InvalidCommand(f"Idempotency-Key: {reason}", fields=[{"field": "Idempotency-Key", "reason": reason}])
    principal = auth.principal_of(request)
    types = request.app[keys.types_key]
    commands_ = []
    for i, job in enumerate(body.jobs):
        principal.check_type(job.type, f"jobs.{i}.type")
        try:
            job_type = await types.check_payload(job.type, job.payload)
        except errors.InvalidCommand as exc:  # named within the batch
            fields = [{**f, "field": f"jobs.{i}.{f['field']}"} for f in exc.details["fields"]]
            raise errors.InvalidCommand(f"{fields[0]['field']}: {fields[0]['reason']}", fields=fields) from None
        digest = request_hash(job.model_dump(mode="json", exclude={"idempotency_key"}))  # as POST /jobs's
        commands_.append(job.command(principal.tenant, job.idempotency_key, digest, job_type))
    answers = await request.app[keys.jobs_key].create_many(commands_, _meta(request, headers))
    documents = ",".join(snapshot.document_json for snapshot, _ in answers)
    created = ",".join("true" if new else "false" for _, new in answers)
    status = 201 if any(new for _, new in answers) else 200
    return web.Response(
        text=f'{{"jobs":[{documents}],"created":[{created}]}}', status=status, content_type="application/json"
    )


@routes.get("/jobs/{id}")
@auth.requires("read")
async def get_job(request: web.Request) -> web.Response:
    job_id = _job_id(request)
    scope = auth.principal_of(request)
    jobs = request.app[keys.jobs_key]
    past = schemas.parse_query(schemas.AsOfQuery, request.query)
    if past.as_of is not None or past.at_position is not None:
        return _job_response(await jobs.load_past(job_id, past.as_of, past.at_position, scope))
    row = await request.app[keys.store_key].get_status(job_id)
    if row is None:  # not in the read model (e.g. past retention): fold it from the log
        return _job_response(await jobs.load(job_id, scope))
    if not scope.sees(row.tenant, row.type):
        raise errors.JobNotFound(job_id=str(job_id))
    etag = _etag(row.version)
    if etag in (schemas.parse_headers(schemas.ReadHeaders, request.headers).if_none_match or ""):
        return web.Response(status=304, headers={"ETag": etag})
    body = f'{row.doc[:-1]},"position":{row.last_position}}}'  # the stored document, as written
    return web.Response(text=body, content_type="application/json", headers={"ETag": etag})


@routes.get("/jobs")
@auth.requires("read")
async def list_jobs(request: web.Request) -> web.Response:
    query = schemas.parse_query(schemas.ListQuery, request.query)
    status = query.status.value if query.status else None
    scope = auth.principal_of(request)
    wanted = JobFilter(status, query.type, scope.tenant, scope.types, query.cursor, query.limit + 1)
    rows = await request.app[keys.store_key].list_status(wanted)
    page = rows[: query.limit]
    next_cursor = str(page[-1][0]) if len(rows) > query.limit else None
    jobs = ",".join(f'{doc[:-1]},"position":{last}}}' for _, last, doc in page)
    body = f'{{"jobs":[{jobs}],"next_cursor":{orjson.dumps(next_cursor).decode()}}}'
    return web.Response(text=body, content_type="application/json")


@routes.post("/jobs/{id}/start")
@auth.requires("work")
async def start_job(request: web.Request) -> web.Response:
    await schemas.read_body(request, schemas.EmptyBody)
    return await execute(request, commands.StartJob())


@routes.post("/jobs/{id}/progress")
@auth.requires("work")
async def report_progress(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, schemas.ProgressBody)
    return await execute(request, commands.ReportProgress(body.percent, body.message, body.details, **lease(body)))


@routes.post("/jobs/{id}/phases/{phase}/start")
@auth.requires("work")
async def start_phase(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, schemas.LeaseBody)
    return await execute(request, commands.StartPhase(request.match_info["phase"], **lease(body)))


@routes.post("/jobs/{id}/phases/{phase}/complete")
@auth.requires("work")
async def complete_phase(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, schemas.PhaseCompleteBody)
    phase = request.match_info["phase"]
    return await execute(request, commands.CompletePhase(phase, body.result, body.confidence, **lease(body)))


@routes.post("/jobs/{id}/phases/{phase}/fail")
@auth.requires("work")
async def fail_phase(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, schemas.ErrorBody)
    return await execute(request, commands.FailPhase(request.match_info["phase"], body.error, **lease(body)))


@routes.post("/jobs/{id}/complete")
@auth.requires("work")
async def complete_job(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, schemas.CompleteBody)
    return await execute(request, commands.CompleteJob(body.result, **lease(body)))


@routes.post("/jobs/{id}/fail")
@auth.requires("work")
async def fail_job(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, schemas.FailBody)
    jitter = request.app[keys.jobs_key].jitter()
    return await execute(request, commands.FailJob(body.error, body.retryable, jitter, **lease(body)))


@routes.post("/jobs/{id}/cancel")
@routes.delete("/jobs/{id}")
@auth.requires("manage")
async def cancel_job(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, schemas.CancelBody)
    meta = _meta(request)
    return await execute(request, commands.CancelJob(body.reason, meta["actor"]))


@routes.get("/jobs/{id}/events")
@auth.requires("history")
async def job_events(request: web.Request) -> web.Response:
    job_id = _job_id(request)
    query = schemas.parse_query(schemas.JobEventsQuery, request.query)
    history = await request.app[keys.store_key].read_stream(job_id)
    if not history or not _sees_history(auth.principal_of(request), history):
        raise errors.JobNotFound(job_id=str(job_id))
    wanted = [
        e for e in history
        if e.position > query.after and (query.until is None or e.recorded_at <= query.until)
    ]
    return json_response({"job_id": str(job_id), "events": [e.as_json() for e in wanted]})


@routes.get("/jobs/{id}/verify")
@auth.requires("history")
async def verify_job(request: web.Request) -> web.Response:
    job_id = _job_id(request)
    await request.app[keys.jobs_key].load(job_id, auth.principal_of(request))  # 404 unless the job is the caller's
    verifier = await audit.verify_job(request.app[keys.store_key], job_id)
    if verifier.checked == 0 and verifier.first_break is None:
        raise errors.JobNotFound(job_id=str(job_id))
    broken = verifier.first_break
    return json_response(
        {"job_id": str(job_id), "ok": broken is None, "events": verifier.checked, "broken": broken and broken.as_json()}
    )


def _sees_history(scope: auth.Principal, history: list) -> bool:
    created = codec.domain_event(history[0])  # JobCreated: whose job, of what type
    return scope.sees(created.tenant, created.job_type)


@routes.get("/events")
@auth.requires("log")
async def all_events(request: web.Request) -> web.Response:
    """The caller's tenant's events in log order; a page may hold fewer than `limit` (see Jobs.log_page)."""
    query = schemas.parse_query(schemas.EventsQuery, request.query)
    scope = auth.principal_of(request)
    if scope.types is not None:
        raise auth.Forbidden("a key limited to job types reads history job by job", action="log")
    page, next_after = await request.app[keys.jobs_key].log_page(query.after, query.limit, scope.tenant)
    return json_response({"events": [e.as_json() for e in page], "next_after": next_after})


@routes.get("/health")
@auth.requires(auth.PUBLIC)
async def health(request: web.Request) -> web.Response:
    """Liveness for anyone; the counts across every tenant only for an admin (or the open mode)."""
    store = request.app[keys.store_key]
    token = auth.bearer(request)
    caller = await request.app[auth.authenticator_key].principal(token) if token else None
    brief = {"status": "ok", "version": service.__version__, "backend": store.backend}
    if caller is None and request.app[auth.authenticator_key].required or caller is not None and caller.role != "admin":
        return json_response({**brief, "uptime_seconds": _uptime(request)})
    counts = await store.count_by_status()
    now = request.app[keys.jobs_key].clock()
    queues = {
        q.type: {
            "queued": q.queued,
            "running": q.running,
            "oldest_queued_age_seconds": round(max(0.0, (now - q.oldest_queued_at).total_seconds()), 3)
            if q.oldest_queued_at else None,
        }
        for q in await store.queue_stats(now)
    }
    return json_response(
        {
            **brief,
            "jobs": counts,
            "running": counts.get("running", 0),
            "queues": queues,
            "projections": await projection_runner.lags(store),
            "uptime_seconds": _uptime(request),
        }
    )


def _uptime(request: web.Request) -> float:
    return round(time.monotonic() - request.app[keys.started_key], 3)


@routes.get("/stats")
@auth.requires("read")
async def job_stats(request: web.Request) -> web.Response:
    store = request.app[keys.store_key]
    now = request.app[keys.jobs_key].clock()
    lag = (await projection_runner.lags(store))[stats.NAME]
    summary = stats.summarize(await store.projection_docs(stats.NAME), now, auth.principal_of(request).sees)
    return json_response({"types": summary, "projection": lag})
