"""What every route does alike: read the job id and the request's metadata, run a command on
the job, answer JSON or the job's document."""

from typing import Any
from uuid import UUID

import orjson
from aiohttp import web

from jobledger.application import estimates, redaction, tracing
from jobledger.application.snapshot import Snapshot
from jobledger.eventlog.records import RecordedEvent
from jobledger.domain import commands, errors
from jobledger.domain.job import Job
from jobledger.web import auth, keys, schemas


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def job_id(request: web.Request) -> UUID:
    raw = request.match_info["id"]
    try:
        return UUID(raw)
    except ValueError:
        raise errors.JobNotFound(f"no job with id {raw!r}: not a UUID", job_id=raw) from None


def meta(request: web.Request, headers: schemas.MetaHeaders | None = None) -> dict[str, Any]:
    headers = headers or schemas.parse_headers(schemas.MetaHeaders, request.headers)
    request_id = request[keys.request_id_key]
    correlation_id = headers.correlation_id or request_id
    who = auth.acting(auth.principal_of(request), headers.actor)  # the key, never the X-Actor header
    return {**who, "request_id": request_id, "correlation_id": correlation_id, **tracing.carried()}


def etag(version: int) -> str:
    return f'"{version}"'


def shown(scope: auth.Principal, document_json: str) -> str:
    """A job document's text as `scope` may see it: a client sees its errors' code and message only."""
    return document_json if scope.sees_details else redaction.document_text(document_json)


async def estimates_of(request: web.Request, jobs: list[Job]) -> list[dict[str, Any] | None]:
    """The jobs' estimates now (application.estimates)."""
    return await request.app[keys.estimates_key].of_jobs(jobs, request.app[keys.jobs_key].clock())


async def shown_documents(request: web.Request, scope: auth.Principal, rows: list[tuple[int, str]]) -> list[str]:
    """Stored documents (each with its last position) as `scope` may see them, with their estimates."""
    now = request.app[keys.jobs_key].clock()
    found = await request.app[keys.estimates_key].of_documents([doc for _, doc in rows], now)
    return [
        estimates.spliced(f'{shown(scope, doc)[:-1]},"position":{last}}}', estimate)
        for (last, doc), estimate in zip(rows, found, strict=True)
    ]


def shown_event(scope: auth.Principal, event: RecordedEvent) -> dict[str, Any]:
    """An event as `scope` may see it: a client sees its error's code and message only."""
    return event.as_json() if scope.sees_details else redaction.event(event.as_json())


async def job_response(
    request: web.Request, snapshot: Snapshot, status: int = 200, *, scope: auth.Principal, past: bool = False,
    **headers: str,
) -> web.Response:
    """The job's document as `scope` may see it, with its estimate (none for a job as it was in
    the past): every answer of a job goes through here or `shown`."""
    estimate = None if past else (await estimates_of(request, [snapshot.job]))[0]
    # the status row's text, as written: no dict made and serialized again
    body = estimates.spliced(shown(scope, snapshot.document_json), estimate)
    return web.Response(
        text=body, status=status, content_type="application/json", headers={"ETag": etag(snapshot.job.version), **headers}
    )


async def execute(request: web.Request, command: commands.Command) -> web.Response:
    jobs = request.app[keys.jobs_key]
    scope = auth.principal_of(request)
    headers = schemas.parse_headers(schemas.CommandHeaders, request.headers)
    snapshot = await jobs.execute(job_id(request), command, meta(request, headers), headers.if_match, scope)
    return await job_response(request, snapshot, scope=scope)
