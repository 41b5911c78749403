"""`GET /openapi.json`: the OpenAPI 3.1 document, built from the pydantic models that validate
requests (service/schemas.py) and describe answers (service/responses.py), never written twice.

OPERATIONS is the table: one row per method and path, naming its handler (whose `requires`
action gives its security), its body, query and header models, and its answers.
"""

import functools
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

import jobledger
from jobledger.application import bodies, bulk_bodies
from jobledger.web import audit_routes, auth, flow_operations, graph_routes, keys, logs, metrics_routes, responses, routes as job_routes, schemas, type_routes, worker_routes
from jobledger.application import json_types, types
from jobledger.web.operation import Operation
from jobledger.eventlog import metadata
from jobledger.web.errors import HTTP_CODES, STATUS

routes = web.RouteTableDef()
REF = "#/components/schemas/{model}"
BEARER = "bearer"
BEARER_DESCRIPTION = (
    "an API key (jl_...), or a JWT from the application's identity provider where the service is "
    "configured for them (README, Sign-in with JWTs)"
)

#: why each error status is answered; the body is always `Error`
ERRORS = {
    400: "invalid_request: bad JSON, field, query or header; `details.fields` lists {field, reason}",
    401: "unauthorized: no key where one is required, or an unknown, revoked or malformed key",
    403: "forbidden: this key's role may not do this, may not use this job type, or may not send X-Actor; "
         "host_not_allowed: a Host this service does not answer; cross_origin: a state change or WebSocket "
         "from a browser on another origin",
    404: "not found: no such job (or not the caller's), phase, artifact, type or schedule",
    409: "illegal_transition, version_conflict (stale If-Match), lease_lost or schedule_exists",
    408: "request_timeout: the body did not arrive within body_timeout_seconds (the connection is closed)",
    413: "payload_too_large: the body is over max_body_bytes",
    415: "unsupported_media_type: a body that is not Content-Type: application/json, or any Content-Encoding",
    422: "idempotency_key_reused: the key was sent before with another body; target_refused: a webhook URL whose "
         "host is, or resolves to, an address this service does not send to (loopback, private, link-local, ...)",
    429: "rate_limited: too many requests with this key (Retry-After)",
    500: "tree_inconsistent: the stored Merkle tree does not extend the last checkpoint; nothing was signed",
    503: "store_unavailable: the database cannot be reached (Retry-After)",
}
_ERROR_HEADERS = {401: "WWW-Authenticate", 429: "Retry-After", 503: "Retry-After"}


@routes.get("/openapi.json")
@auth.requires(auth.PUBLIC)
async def openapi(request: web.Request) -> web.Response:
    """This service's OpenAPI document (built once per mode: keys required, or optional in the open mode)."""
    return web.Response(body=document_bytes(request.app[keys.settings_key].auth_required), content_type="application/json")


_r, _w, _a, _t = job_routes, worker_routes, audit_routes, type_routes
_BULK = (
    "Each selected job gets its own event (cancelled, retried, or erased), a page of jobs at a time; each event's "
    "metadata records the actor and `bulk` (the action, its filter and `as_of`). `dry_run` counts without acting. Only "
    "jobs selected by `as_of` are taken (created before it to cancel, finished before it to retry or purge): after a "
    "crash, the same request with the answer's `as_of` acts on the rest, never twice on one job."
)
_PURGE = (
    "Erasing a finished job takes its payload, metadata values, result, error, messages, reasons and artifacts out "
    "of its document and of every event that held them, and records JobErased (who, when, why). Ids, types, "
    "statuses, attempts, phases' names and every time remain; the log keeps each rewritten event's digest and leaf "
    "hash, so verification and proofs still hold. An erased job cannot be retried."
)
_METADATA_FILTERS = (
    f"Filter on a job's metadata with `{schemas.METADATA_PREFIX}<key>=<value>` parameters, up to "
    f"{schemas.MAX_METADATA_FILTERS}, each key once: a job is listed when its metadata holds every pair. A string "
    "matches as it is; a number or a boolean by its JSON text (`42`, `true`). Nested values, nulls, keys over "
    f"{metadata.MAX_KEY} and values over {metadata.MAX_VALUE} characters are not indexed and never match."
)
_QUEUED_PROGRESS = (
    "A running job reports a percent (with its lease_token if a worker holds it). A queued job may report a "
    "message (and details) while it waits, with no percent and no lease_token: it stays queued and claimable."
)
_PAUSE = (
    "While a type is paused, claims (on every instance) leave its jobs queued; creates still queue them and "
    "running jobs finish. A type need not be registered to be paused. Pausing a paused type changes nothing "
    "(`changed: false`); each change is a TypePaused or TypeResumed event of the type's stream."
)
_GRAPH = (
    "A job created with `depends_on` is `waiting` until each parent has ended: completed, or ended otherwise over an "
    "edge whose `on_failure` is `run`; a parent that fails, is cancelled or expires over a `cancel` edge cancels it. "
    "Parents show their result once completed. Jobs of other tenants never appear."
)
_JOB = {"answer": responses.Job, "etag": True}
_COMMAND = {**_JOB, "headers": schemas.CommandHeaders, "errors": (409,)}
OPERATIONS = (
    Operation("post", "/jobs", _r.create_job, "Create a job", body=bodies.CreateJobBody, status=201,
              more=(200,), headers=schemas.CreateHeaders, errors=(422,), **_JOB),
    Operation("post", "/jobs/batch", _r.create_jobs, f"Create up to {bodies.MAX_BATCH} jobs: all, or none",
              responses.JobBatch, body=bodies.CreateJobsBody, status=201, more=(200,), headers=schemas.MetaHeaders,
              errors=(422,)),
    Operation("post", "/jobs/cancel", _r.cancel_jobs, "Cancel the waiting, queued and running jobs a filter selects",
              responses.BulkAnswer, body=bulk_bodies.CancelManyBody, headers=schemas.MetaHeaders, description=_BULK),
    Operation("post", "/jobs/retry", _r.retry_jobs, "Queue again the failed and expired jobs a filter selects",
              responses.BulkAnswer, body=bulk_bodies.RetryManyBody, headers=schemas.MetaHeaders, description=_BULK),
    Operation("post", "/jobs/purge", _r.purge_jobs, "Erase the data of the finished jobs a filter selects",
              responses.BulkAnswer, body=bulk_bodies.PurgeManyBody, headers=schemas.MetaHeaders,
              description=_BULK + " " + _PURGE),
    Operation("get", "/jobs", _r.list_jobs, "List jobs, newest first", responses.JobPage, query=schemas.ListQuery,
              description=_METADATA_FILTERS),
    Operation("get", "/jobs/{id}", _r.get_job, "A job's document (or as it was then)", query=schemas.AsOfQuery,
              more=(304,), headers=schemas.ReadHeaders, **_JOB),
    Operation("delete", "/jobs/{id}", _r.cancel_job, "Cancel a job", body=bodies.CancelBody, **_COMMAND),
    Operation("post", "/jobs/{id}/cancel", _r.cancel_job, "Cancel a job", body=bodies.CancelBody, **_COMMAND),
    Operation("post", "/jobs/{id}/purge", _r.purge_job, "Erase a finished job's data", body=bodies.PurgeBody,
              description=_PURGE, **_COMMAND),
    Operation("post", "/jobs/{id}/start", _r.start_job, "Start a tracked job", body=bodies.EmptyBody, **_COMMAND),
    Operation("post", "/jobs/{id}/progress", _r.report_progress, "Report progress", body=bodies.ProgressBody,
              description=_QUEUED_PROGRESS, **_COMMAND),
    Operation("post", "/jobs/{id}/phases/{phase}/start", _r.start_phase, "Start a phase", body=bodies.LeaseBody,
              **_COMMAND),
    Operation("post", "/jobs/{id}/phases/{phase}/complete", _r.complete_phase, "Complete a phase",
              body=bodies.PhaseCompleteBody, **_COMMAND),
    Operation("post", "/jobs/{id}/phases/{phase}/fail", _r.fail_phase, "Fail a phase", body=bodies.ErrorBody,
              **_COMMAND),
    Operation("post", "/jobs/{id}/complete", _r.complete_job, "Complete a job", body=bodies.CompleteBody, **_COMMAND),
    Operation("post", "/jobs/{id}/fail", _r.fail_job, "Fail a job (or schedule a retry)", body=bodies.FailBody,
              **_COMMAND),
    Operation("get", "/jobs/{id}/events", _r.job_events, "A job's events", responses.JobEvents,
              query=schemas.JobEventsQuery),
    Operation("get", "/jobs/{id}/graph", graph_routes.job_graph, "A job's parents and children, with their statuses",
              responses.JobGraph, description=_GRAPH),
    Operation("get", "/jobs/{id}/verify", _r.verify_job, "Check a job's hash chain", responses.Verification),
    Operation("get", "/events", _r.all_events, "The log, in position order", responses.EventPage,
              query=schemas.EventsQuery),
    Operation("get", "/health", _r.health, "Liveness; counts across tenants for an operator", responses.Health | responses.HealthBrief,
              errors=(401,)),
    Operation("get", "/stats", _r.job_stats, "Throughput and durations per job type", responses.Stats),
    Operation("post", "/workers/claim", _w.claim, "Claim due jobs under a lease", responses.Claim,
              body=bodies.ClaimBody, headers=schemas.MetaHeaders),
    Operation("post", "/jobs/{id}/heartbeat", _w.heartbeat, "Extend a lease", body=bodies.HeartbeatBody,
              **_COMMAND),
    Operation("post", "/jobs/{id}/release", _w.release, "Give a claimed job back unfinished (the attempt does not "
              "count)", body=bodies.ReleaseBody, **_COMMAND),
    Operation("post", "/jobs/{id}/retry", _w.retry, "Queue a failed job again", body=bodies.RetryBody, **_COMMAND),
    Operation("post", "/jobs/{id}/artifacts", _w.add_artifact, "Add an artifact", body=bodies.ArtifactBody,
              **_COMMAND),
    Operation("get", "/jobs/{id}/artifacts", _w.list_artifacts, "A job's artifacts", responses.Artifacts),
    Operation("get", "/jobs/{id}/artifacts/{name}", _w.get_artifact,
              "An artifact's data: text as text/plain, JSON and raster images as such, anything else a download "
              "(application/octet-stream); never rendered as a page",
              None, media="*/*", raw={}),
    Operation("put", "/types/{name}", _t.put_type, "Register a job type (TypeDefined in its stream)",
              responses.JobTypeAnswer, body=types.JobType, errors=(400,)),
    Operation("get", "/types", _t.list_types, "Registered job types", responses.JobTypes),
    Operation("get", "/types/{name}", _t.get_type, "A registered job type", responses.JobTypeAnswer, errors=(400, 404)),
    Operation("post", "/types/{name}/pause", _t.pause_type, "Pause a type: claims leave its jobs queued",
              responses.TypeChange, body=_t.PauseBody, errors=(400,), description=_PAUSE),
    Operation("post", "/types/{name}/resume", _t.resume_type, "Resume a paused type", responses.TypeChange,
              body=bodies.EmptyBody, errors=(400,)),
    Operation("get", "/types/{name}/events", _t.type_events, "A job type's history: definitions, pauses, resumes",
              responses.TypeEvents, errors=(400, 404)),
    *flow_operations.SCHEDULES,
    *flow_operations.WEBHOOKS,
    Operation("get", "/checkpoint", _a.latest_checkpoint, "The log's latest signed checkpoint (a signed note)", None,
              media="text/plain", raw={"type": "string"}, errors=(500,)),
    Operation("post", "/checkpoint", _a.issue_checkpoint, "Sign the log's tree now if it grew; the latest checkpoint",
              None, body=bodies.EmptyBody, media="text/plain", raw={"type": "string"}, errors=(500,)),
    Operation("get", "/checkpoints", _a.list_checkpoints, "Signed checkpoints, ascending by size",
              responses.CheckpointList, query=audit_routes.CheckpointsQuery),
    Operation("get", "/proofs/inclusion", _a.inclusion_proof, "An event's inclusion proof (RFC 9162 2.1.3)",
              responses.InclusionProof, query=audit_routes.InclusionQuery, errors=(404,)),
    Operation("get", "/proofs/consistency", _a.consistency_proof, "A consistency proof between two tree sizes "
              "(RFC 9162 2.1.4)", responses.ConsistencyProof, query=audit_routes.ConsistencyQuery, errors=(404,)),
    Operation("get", "/jobs/{id}/bundle", _a.job_bundle, "A job's audit bundle, checked offline with the public key",
              responses.AuditBundle, errors=(500,)),
    Operation("get", "/metrics", metrics_routes.metrics, "Prometheus metrics", None,
              media=CONTENT_TYPE_LATEST.split(";")[0], raw={"type": "string"}),
    Operation("get", "/openapi.json", openapi, "This document", None, raw={"type": "object"}),
)


def _models(answer: Any) -> tuple[type[BaseModel], ...]:
    return () if answer is None else getattr(answer, "__args__", (answer,))


def _schema(answer: Any) -> dict[str, Any]:
    refs = [{"$ref": REF.format(model=m.__name__)} for m in _models(answer)]
    return refs[0] if len(refs) == 1 else {"anyOf": refs}


def _parameters(model: type[BaseModel] | None, where: str, defs: dict[str, Any]) -> list[dict[str, Any]]:
    """One parameter per field of a query or header model; its schema without `null` (absent is how to leave it out)."""
    if model is None:
        return []
    schema = defs[model.__name__]
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        branches = [b for b in prop.pop("anyOf", ()) if b != {"type": "null"}]
        if branches:
            prop = {**prop, **branches[0]} if len(branches) == 1 else {**prop, "anyOf": branches}
        if prop.get("default") is None:
            prop.pop("default", None)
        description = prop.pop("description", None)
        param = {"name": name, "in": where, "required": name in required, "schema": prop}
        params.append({**param, "description": description} if description else param)
    return params


_PATH = {
    "id": {"type": "string", "format": "uuid", "description": "the job's id"},
    "phase": {**TypeAdapter(bodies.Name).json_schema(), "description": "one of the job's phases"},
    "name": {**TypeAdapter(bodies.Name).json_schema(), "description": "an artifact's, a job type's or a schedule's name"},
    "webhook_id": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\u0000]*$", "description": "a webhook endpoint's id"},
    "delivery_id": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\u0000]*$", "description": "a delivery's id (webhook-id)"},
}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [{"name": n, "in": "path", "required": True, "schema": _PATH[n]} for n in names]


#: answer headers: description and the pattern of their values
HEADERS = {
    "X-Request-Id": (
        "the request's id: the client's X-Request-Id if sane, else a new one", f"^{logs.SANE_REQUEST_ID.pattern}$"
    ),
    "ETag": ('the job\'s version, quoted: "5"', '^"[0-9]+"$'),
    "Location": ("the job's URL", "^/jobs/[0-9a-f-]{36}$"),
    "Retry-After": ("seconds to wait before trying again", "^[0-9]+$"),
    "WWW-Authenticate": ('Bearer realm="jobledger"', "^Bearer "),
}


def _headers(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in ("X-Request-Id", *names)}


def _answers(op: Operation) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for status in (op.status, *op.more):
        location = ("Location",) if op.status == 201 and op.etag else ()  # one job made: where it is
        answer: dict[str, Any] = {"description": op.summary, "headers": _headers(*("ETag",) * op.etag, *location)}
        if status == 304:
            answer["description"] = "not modified: If-None-Match names the job's current version"
        elif op.answer is not None or op.raw is not None:
            answer["content"] = {op.media: {"schema": _schema(op.answer) if op.answer else op.raw}}
        if links := _links(op):
            answer["links"] = links
        answers[str(status)] = answer
    answers.update({str(status): {"$ref": f"#/components/responses/{status}"} for status in op.error_statuses()})
    return answers


#: what an answer names that other operations take: (the operation's path, the parameter, where in the answer)
_LINKED = {("post", "/jobs"): ("{id}", "id", "$response.body#/id"),
           ("put", "/types/{name}"): ("/types/{name}", "name", "$response.body#/name"),
           ("post", "/schedules"): ("/schedules/{name}", "name", "$response.body#/name"),
           ("post", "/webhooks"): ("/webhooks/{webhook_id}", "webhook_id", "$response.body#/id")}


def _links(op: Operation) -> dict[str, Any]:
    """OpenAPI links from a job (type, schedule, webhook endpoint) just made to the operations on
    it: a client, or a stateful test (schemathesis), follows them with the id the answer holds."""
    linked = _LINKED.get((op.method, op.path))
    if linked is None:
        return {}
    part, name, value = linked
    unlinked = {"{phase}", "{delivery_id}"}  # a second parameter no answer holds
    targets = [o for o in OPERATIONS if part in o.path and o is not op and not unlinked & set(o.path.split("/"))]
    return {_operation_id(o): {"operationId": _operation_id(o), "parameters": {f"path.{name}": value}} for o in targets}


def _operation_id(op: Operation) -> str:
    return "delete_job" if (op.method, op.path) == ("delete", "/jobs/{id}") else op.handler.__name__


def _error_body(status: int) -> dict[str, Any]:
    """`Error`, with the codes this status is answered with (from the error middleware's tables)."""
    codes = sorted({cls.code for cls, s in STATUS.items() if s == status} | {HTTP_CODES.get(status)} - {None})
    code = {"type": "object", "properties": {"code": {"enum": codes}}}
    return {"allOf": [_schema(responses.Error), {"type": "object", "properties": {"error": code}}]}


def _error_answers() -> dict[str, Any]:
    return {
        str(status): {
            "description": description,
            "headers": _headers(*filter(None, [_ERROR_HEADERS.get(status)])),
            "content": {"application/json": {"schema": _error_body(status)}},
        }
        for status, description in ERRORS.items()
    }


def _security(op: Operation, keys_required: bool) -> list[dict[str, list]]:
    """A key for every operation but the public ones; in the open mode (loopback, `auth = auto`) it is optional
    (`{}`: no key at all), though one that is sent is checked, and scopes the request."""
    if op.handler.jobledger_action == auth.PUBLIC:
        return []
    return [{BEARER: []}] if keys_required else [{}, {BEARER: []}]


def _operation(op: Operation, defs: dict[str, Any], keys_required: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": _operation_id(op),
        "summary": op.summary,
        **({"description": op.description} if op.description else {}),
        "parameters": [
            *_path_parameters(op.path), *_parameters(op.query, "query", defs), *_parameters(op.headers, "header", defs)
        ],
        "responses": _answers(op),
    }
    if op.body is not None:
        required = bool(defs[op.body.__name__].get("required"))
        doc["requestBody"] = {"required": required, "content": {"application/json": {"schema": _schema(op.body)}}}
    doc["security"] = _security(op, keys_required)
    return doc


def document(keys_required: bool = True) -> dict[str, Any]:
    """The OpenAPI 3.1 document of OPERATIONS (`keys_required` False: the open mode's)."""
    models = {m for op in OPERATIONS for m in (*_models(op.answer), op.body, op.query, op.headers) if m is not None}
    models.add(responses.Error)
    _, top = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)], ref_template=REF)
    defs = {**top["$defs"], "Json": json_types.JSON_SCHEMA}  # what the bodies' free-form fields refer to
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, defs, keys_required)
    for op in OPERATIONS:  # parameters, not bodies: described where they are used
        defs.pop(getattr(op.query, "__name__", ""), None)
        defs.pop(getattr(op.headers, "__name__", ""), None)
    return {
        "openapi": "3.1.0",
        "info": {"title": "jobledger", "version": jobledger.__version__, "description": __doc__.split("\n\n")[0]},
        "paths": paths,
        "components": {
            "schemas": defs,
            "responses": _error_answers(),
            "headers": {
                name: {"description": d, "required": True, "schema": {"type": "string", "pattern": pattern}}
                for name, (d, pattern) in HEADERS.items()
            },
            "securitySchemes": {BEARER: {"type": "http", "scheme": "bearer", "description": BEARER_DESCRIPTION}},
        },
    }


@functools.cache
def document_bytes(keys_required: bool = True) -> bytes:
    return orjson.dumps(document(keys_required))
