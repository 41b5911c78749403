"""A job's trace: the W3C traceparent a creator sends links its creation, its claim, the SDK
handler's span and its completion (README, Traces); each event's metadata holds the trace
context of the request that appended it. A real worker over real HTTP, on both backends."""

import asyncio
import secrets

from opentelemetry.trace import SpanKind, StatusCode

from jobledger.sdk.worker import PermanentError

from tests.sdk.helpers import history, wait_for
from tests.workers.helpers import wait_until

TRACE = secrets.randbits(128) | 1
CALLER = secrets.randbits(64) | 1
TRACEPARENT = f"00-{TRACE:032x}-{CALLER:016x}-01"


def traceparent(span) -> str:
    return f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-{span.context.trace_flags:02x}"


async def once_ended(spans, name: str) -> list:
    """The spans, once one named `name` has ended: a handler's span ends after its last call's
    answer, so after the job's end is visible to anyone polling it."""

    async def ended():
        await asyncio.sleep(0)
        return any(s.name == name for s in spans())

    await wait_until(ended)
    return spans()


def one(spans, name: str, **where):
    found = [s for s in spans if s.name == name and all(getattr(s, k) == v for k, v in where.items())]
    assert len(found) == 1, f"{name}: {[s.name for s in spans]}"
    return found[0]


async def test_a_jobs_trace_links_its_creation_claim_handler_and_completion(client, make_worker, mode, spans):
    resp = await client.post("/jobs", json={"type": "report", "payload": {}}, headers={"traceparent": TRACEPARENT})
    assert resp.status == 201, await resp.text()
    job = await resp.json()

    worker = make_worker()

    @worker.handler("report")
    async def handle(doc, ctx):
        await ctx.progress(50, "half way")
        return {"pages": 2}

    make_worker.start(worker)
    assert (await wait_for(client, job["id"]))["status"] == "completed"
    done = await once_ended(spans, "jobledger.handle report")

    created = one(done, "POST /jobs")
    assert created.kind == SpanKind.SERVER and created.context.trace_id == TRACE
    assert created.parent.span_id == CALLER and created.parent.is_remote
    assert one(done, "jobledger.append", parent=created.context).context.trace_id == TRACE

    claim = one(done, "jobledger.claim")
    claimed = one(done, "jobledger.claimed")
    assert claimed.context.trace_id == TRACE and claimed.parent.span_id == created.context.span_id
    assert [link.context.span_id for link in claimed.links] == [claim.context.span_id]
    assert claimed.attributes["jobledger.job_id"] == job["id"]

    handler = one(done, "jobledger.handle report")
    assert handler.kind == SpanKind.CONSUMER and handler.context.trace_id == TRACE
    assert handler.parent.span_id == created.context.span_id

    events = {e["type"]: e["metadata"] for e in await history(client, job["id"])}
    assert events["JobCreated"]["traceparent"] == traceparent(created)
    if mode == "inprocess":  # the handler's calls are no requests: its reports carry its own span
        assert events["ProgressReported"]["traceparent"] == events["JobCompleted"]["traceparent"] == traceparent(handler)
        return
    claiming = one(done, "POST /workers/claim")
    assert claim.parent.span_id == claiming.context.span_id
    assert events["JobStarted"]["traceparent"] == traceparent(claiming)
    progress = one(done, "POST /jobs/{id}/progress")
    completed = one(done, "POST /jobs/{id}/complete")
    for call in (progress, completed):
        assert call.context.trace_id == TRACE and call.parent.span_id == handler.context.span_id
    assert completed.attributes["http.response.status_code"] == 200
    assert events["ProgressReported"]["traceparent"] == traceparent(progress)
    assert events["JobCompleted"]["traceparent"] == traceparent(completed)


async def test_the_claim_answer_carries_the_creations_traceparent(client, spans):
    resp = await client.post("/jobs", json={"type": "report"}, headers={"traceparent": TRACEPARENT})
    untraced = await client.post("/jobs", json={"type": "report", "priority": -1})
    claim = await client.post("/workers/claim", json={"worker_id": "w", "types": ["report"], "limit": 2})
    assert claim.status == 200
    jobs = (await claim.json())["jobs"]
    traced, root = sorted((s for s in spans() if s.name == "POST /jobs"), key=lambda s: s.context.trace_id != TRACE)
    assert [j["id"] for j in jobs] == [(await resp.json())["id"], (await untraced.json())["id"]]
    assert jobs[0]["traceparent"] == traceparent(traced) and traced.context.trace_id == TRACE
    assert jobs[1]["traceparent"] == traceparent(root) and root.parent is None  # the service's own root span


async def test_a_failed_handlers_span_is_an_error_and_the_failure_its_child(client, make_worker, spans):
    resp = await client.post("/jobs", json={"type": "report", "max_attempts": 1}, headers={"traceparent": TRACEPARENT})
    job = await resp.json()

    worker = make_worker()

    @worker.handler("report")
    async def handle(doc, ctx):
        raise PermanentError("no pages")

    make_worker.start(worker)
    assert (await wait_for(client, job["id"]))["status"] == "failed"
    handler = one(await once_ended(spans, "jobledger.handle report"), "jobledger.handle report")
    assert handler.status.status_code == StatusCode.ERROR and handler.context.trace_id == TRACE
    assert [e.attributes["exception.message"] for e in handler.events] == ["no pages"]
    failed = (await history(client, job["id"]))[-1]
    assert failed["type"] == "JobFailed" and failed["metadata"]["traceparent"].split("-")[1] == f"{TRACE:032x}"
