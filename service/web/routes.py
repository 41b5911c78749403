"""HTTP routes: parse, call the application layer, answer JSON. No rules here."""

import time

import orjson
from aiohttp import web

import jobledger
from jobledger.domain import commands, errors
from jobledger.domain.events import EVENT_TYPES
from jobledger.eventlog.records import JobFilter
from jobledger.projections import stats
from jobledger.application import audit, bulk, erasure, estimates, graph, projection_runner
from jobledger.application.snapshot import owner
from jobledger.application import bodies, graph_bodies
from jobledger.web import auth, handling, keys, logs, schemas
from jobledger.application.jobs import request_hash, utcnow

routes = web.RouteTableDef()
#: /jobs/{id}, but never /jobs/batch, /jobs/cancel or /jobs/retry: every other method there answers 405
#: (Allow: POST), not "no job with id 'batch'"
JOB = "/jobs/{id:(?!(?:batch|cancel|retry|purge)$)[^/]+}"


@routes.post("/jobs")
@auth.requires("create")
async def create_job(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.CreateJobBody)
    headers = schemas.parse_headers(schemas.CreateHeaders, request.headers)
    principal = auth.principal_of(request)
    principal.check_type(body.type)
    job_type = await request.app[keys.types_key].check_payload(principal.tenant, body.type, body.payload)
    digest = request_hash(body.model_dump(mode="json"))
    command = body.command(principal.tenant, headers.idempotency_key, digest, job_type, principal.user)
    meta, jobs = handling.meta(request, headers), request.app[keys.jobs_key]
    snapshot, created = await (graph.create(jobs, command, meta, principal) if command.depends_on else jobs.create(command, meta))
    logs.bind(job_id=str(snapshot.job.id))  # for this request's log lines
    return await handling.job_response(
        request, snapshot, 201 if created else 200, scope=principal, Location=f"/jobs/{snapshot.job.id}"
    )


@routes.post("/jobs/batch")
@auth.requires("create")
async def create_jobs(request: web.Request) -> web.Response:
    """Create up to bodies.MAX_BATCH jobs in one request: all of them are written, or none."""
    body = await schemas.read_body(request, bodies.CreateJobsBody)
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
            job_type = await types.check_payload(principal.tenant, job.type, job.payload)
        except errors.InvalidCommand as exc:  # named within the batch
            fields = [{**f, "field": f"jobs.{i}.{f['field']}"} for f in exc.details["fields"]]
            raise errors.InvalidCommand(fields=fields) from None
        digest = request_hash(job.model_dump(mode="json", exclude={"idempotency_key", "ref"}))  # as POST /jobs's
        commands_.append(job.command(principal.tenant, job.idempotency_key, digest, job_type, principal.user))
    jobs, meta = request.app[keys.jobs_key], handling.meta(request, headers)
    if any(job.ref is not None or job.depends_on for job in body.jobs):  # a graph (application/graph.py)
        refs, references = [job.ref for job in body.jobs], [[graph_bodies.parent(p) for p in job.depends_on] for job in body.jobs]
        answers = await graph.create_batch(jobs, commands_, refs, references, meta, principal)
    else:
        answers = await jobs.create_many(commands_, meta)
    found = await handling.estimates_of(request, [snapshot.job for snapshot, _ in answers])
    documents = ",".join(
        estimates.spliced(handling.shown(principal, snapshot.document_json), estimate)
        for (snapshot, _), estimate in zip(answers, found, strict=True)
    )
    created = ",".join("true" if new else "false" for _, new in answers)
    status = 201 if any(new for _, new in answers) else 200
    return web.Response(
        text=f'{{"jobs":[{documents}],"created":[{created}]}}', status=status, content_type="application/json"
    )


@routes.get(JOB)
@auth.requires("read")
async def get_job(request: web.Request) -> web.Response:
    job_id = handling.job_id(request)
    scope = auth.principal_of(request)
    jobs = request.app[keys.jobs_key]
    past = schemas.parse_query(schemas.AsOfQuery, request.query)
    read = schemas.parse_headers(schemas.ReadHeaders, request.headers)  # checked whichever way the job is read
    if past.as_of is not None or past.at_position is not None:
        snapshot = await jobs.load_past(job_id, past.as_of, past.at_position, scope)
        return await handling.job_response(request, snapshot, scope=scope, past=True)
    row = await request.app[keys.stores_key].status.get_status(job_id)
    if row is None:  # not in the read model (e.g. past retention): fold it from the log
        return await handling.job_response(request, await jobs.load(job_id, scope), scope=scope)
    if not scope.sees(row.tenant, row.type, row.user):
        raise errors.JobNotFound(job_id=str(job_id))
    etag = handling.etag(row.version)
    if schemas.current(read.if_none_match, etag):
        return web.Response(status=304, headers={"ETag": etag})
    (body,) = await handling.shown_documents(request, scope, [(row.last_position, row.doc)])  # the stored document, as written
    return web.Response(text=body, content_type="application/json", headers={"ETag": etag})


@routes.get("/jobs")
@auth.requires("read")
async def list_jobs(request: web.Request) -> web.Response:
    given = request.query
    query = schemas.parse_query(schemas.ListQuery, {k: given[k] for k in given if not k.startswith(schemas.METADATA_PREFIX)})
    status = query.status.value if query.status else None
    scope = auth.principal_of(request)
    wanted = JobFilter(
        status, query.type, scope.tenant, scope.types, query.cursor, query.limit + 1, schemas.metadata_filters(given),
        query.created_after, query.created_before, scope.user,
    )
    rows = await request.app[keys.stores_key].status.list_status(wanted)
    page = rows[: query.limit]
    next_cursor = str(page[-1][0]) if len(rows) > query.limit else None
    jobs = ",".join(await handling.shown_documents(request, scope, [(last, doc) for _, last, doc in page]))
    body = f'{{"jobs":[{jobs}],"next_cursor":{orjson.dumps(next_cursor).decode()}}}'
    return web.Response(text=body, content_type="application/json")


@routes.post("/jobs/cancel")
@auth.requires("manage")
async def cancel_jobs(request: web.Request) -> web.Response:
    return await _bulk(request, bulk.ACTIONS["cancel"])


@routes.post("/jobs/retry")
@auth.requires("manage")
async def retry_jobs(request: web.Request) -> web.Response:
    return await _bulk(request, bulk.ACTIONS["retry"])


@routes.post("/jobs/purge")
@auth.requires("manage")
async def purge_jobs(request: web.Request) -> web.Response:
    return await _bulk(request, bulk.ACTIONS["purge"])


@routes.post("/jobs/{id}/purge")
@auth.requires("manage")
async def purge_job(request: web.Request) -> web.Response:
    """Erase a finished job's data (domain/erasure.py); the job as it is after."""
    body = await schemas.read_body(request, bodies.PurgeBody)
    headers = schemas.parse_headers(schemas.CommandHeaders, request.headers)
    scope, meta = auth.principal_of(request), handling.meta(request, headers)
    job_id = handling.job_id(request)
    snapshot = await erasure.purge(request.app[keys.jobs_key], job_id, body.reason, meta, headers.if_match, scope)
    return await handling.job_response(request, snapshot, scope=scope)


async def _bulk(request: web.Request, action: bulk.Action) -> web.Response:
    body = await schemas.read_body(request, action.body)
    answer = await bulk.run(request.app[keys.jobs_key], action, body, auth.principal_of(request), handling.meta(request))
    return web.json_response(answer, dumps=lambda v: orjson.dumps(v).decode())


@routes.post("/jobs/{id}/start")
@auth.requires("work")
async def start_job(request: web.Request) -> web.Response:
    await schemas.read_body(request, bodies.EmptyBody)
    return await handling.execute(request, commands.StartJob())


@routes.post("/jobs/{id}/progress")
@auth.requires("work")
async def report_progress(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.ProgressBody)
    return await handling.execute(request, commands.ReportProgress(body.percent, body.message, body.details, **bodies.lease(body)))


@routes.post("/jobs/{id}/phases/{phase}/start")
@auth.requires("work")
async def start_phase(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.LeaseBody)
    return await handling.execute(request, commands.StartPhase(request.match_info["phase"], **bodies.lease(body)))


@routes.post("/jobs/{id}/phases/{phase}/complete")
@auth.requires("work")
async def complete_phase(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.PhaseCompleteBody)
    phase = request.match_info["phase"]
    return await handling.execute(request, commands.CompletePhase(phase, body.result, body.confidence, **bodies.lease(body)))


@routes.post("/jobs/{id}/phases/{phase}/fail")
@auth.requires("work")
async def fail_phase(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.ErrorBody)
    return await handling.execute(request, commands.FailPhase(request.match_info["phase"], body.error, **bodies.lease(body)))


@routes.post("/jobs/{id}/complete")
@auth.requires("work")
async def complete_job(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.CompleteBody)
    return await handling.execute(request, commands.CompleteJob(body.result, **bodies.lease(body)))


@routes.post("/jobs/{id}/fail")
@auth.requires("work")
async def fail_job(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.FailBody)
    jitter = request.app[keys.jobs_key].jitter()
    return await handling.execute(request, commands.FailJob(body.error, body.retryable, jitter, **bodies.lease(body)))


@routes.post("/jobs/{id}/cancel")
@routes.delete(JOB)
@auth.requires("manage")
async def cancel_job(request: web.Request) -> web.Response:
    body = await schemas.read_body(request, bodies.CancelBody)
    meta = handling.meta(request)
    return await handling.execute(request, commands.CancelJob(body.reason, meta["actor"]))


@routes.get("/jobs/{id}/events")
@auth.requires("history")
async def job_events(request: web.Request) -> web.Response:
    job_id = handling.job_id(request)
    query = schemas.parse_query(schemas.JobEventsQuery, request.query)
    history = await request.app[keys.stores_key].log.read_stream(job_id)
    if not history or history[0].type not in EVENT_TYPES or not _sees_history(auth.principal_of(request), history):
        raise errors.JobNotFound(job_id=str(job_id))  # none, another's, or a job type's stream (GET /types/{name}/events)
    wanted = [
        e for e in history
        if e.position > query.after and (query.until is None or e.recorded_at <= query.until)
    ]
    scope = auth.principal_of(request)
    return handling.json_response({"job_id": str(job_id), "events": [handling.shown_event(scope, e) for e in wanted]})


@routes.get("/jobs/{id}/verify")
@auth.requires("history")
async def verify_job(request: web.Request) -> web.Response:
    job_id = handling.job_id(request)
    await request.app[keys.jobs_key].load(job_id, auth.principal_of(request))  # 404 unless the job is the caller's
    retention = audit.finished_before(request.app[keys.settings_key].retention_seconds, utcnow())
    report = await audit.verify_job(request.app[keys.stores_key], job_id, retention)  # JobNotFound: nothing at all
    broken = report.first_break
    return handling.json_response({
        "job_id": str(job_id), "ok": report.ok, "events": report.checked, "broken": broken and broken.as_json(),
        "problems": [p.as_json() for p in report.problems],
    })


def _sees_history(scope: auth.Principal, history: list) -> bool:
    return scope.sees(*owner(history[0]))  # whose job, of what type


@routes.get("/events")
@auth.requires("log")
async def all_events(request: web.Request) -> web.Response:
    """The caller's tenant's events in log order; a page may hold fewer than `limit` (see Jobs.log_page)."""
    query = schemas.parse_query(schemas.EventsQuery, request.query)
    scope = auth.principal_of(request)
    if scope.types is not None:
        raise auth.Forbidden("a key limited to job types reads history job by job", role=scope.role, action="log")
    page, next_after = await request.app[keys.jobs_key].log_page(query.after, query.limit, scope.tenant)
    return handling.json_response({"events": [handling.shown_event(scope, e) for e in page], "next_after": next_after})


@routes.get("/health")
@auth.requires(auth.PUBLIC)
async def health(request: web.Request) -> web.Response:
    """Liveness for anyone; the counts across every tenant only for an operator (or the open mode)."""
    stores = request.app[keys.stores_key]
    token = auth.bearer(request)
    caller = await request.app[auth.authenticator_key].principal(token) if token else None
    brief = {"status": "ok", "version": jobledger.__version__, "backend": stores.backend}
    if caller is None and request.app[auth.authenticator_key].required or caller is not None and not caller.service_wide:
        return handling.json_response({**brief, "uptime_seconds": _uptime(request)})
    counts = await stores.status.count_by_status()
    now = request.app[keys.jobs_key].clock()
    queues = {
        q.type: {
            "queued": q.queued,
            "running": q.running,
            "oldest_queued_age_seconds": round(max(0.0, (now - q.oldest_queued_at).total_seconds()), 3)
            if q.oldest_queued_at else None,
        }
        for q in await stores.queue.queue_stats(now)
    }
    return handling.json_response(
        {
            **brief,
            "jobs": counts,
            "running": counts.get("running", 0),
            "queues": queues,
            "paused_types": [{"tenant": t, "type": n, "reason": r} for t, n, r in await stores.registry.paused_types()],
            "projections": await projection_runner.lags(stores),
            "uptime_seconds": _uptime(request),
        }
    )


def _uptime(request: web.Request) -> float:
    return round(time.monotonic() - request.app[keys.started_key], 3)


@routes.get("/stats")
@auth.requires("read")
async def job_stats(request: web.Request) -> web.Response:
    stores = request.app[keys.stores_key]
    now = request.app[keys.jobs_key].clock()
    lag = (await projection_runner.lags(stores))[stats.NAME]
    docs = await stores.projections.projection_docs(stats.NAME)
    scope = auth.principal_of(request)
    summary = stats.summarize(docs, now, scope.sees)
    paused = sorted(t for t in await request.app[keys.types_key].paused(scope.tenant) if scope.types is None or t in scope.types)
    return handling.json_response({"types": summary, "paused": paused, "projection": lag})
