"""A handler's reports, result and exceptions become the job's history: over HTTP and
in-process, on both backends."""

import asyncio

from jobledger.sdk.worker import PermanentError
from tests.sdk.helpers import create, history, types, wait_for


async def test_reports_and_result_complete_the_job(client, make_worker):
    job = await create(client, phases=["research", "audit"], payload={"pages": 3})
    worker = make_worker()
    seen = {}

    @worker.handler("report")
    async def handle(doc, ctx):
        seen.update(payload=doc["payload"], attempt=ctx.attempt)
        await ctx.start_phase("research")
        await ctx.progress(40, "read 2 of 3 pages", {"page": 2})
        await ctx.complete_phase("research", {"pages": 3}, confidence=0.9)
        async with ctx.phase("audit") as audit:
            audit.result = "ok"
        await ctx.add_artifact("summary", {"words": 120})
        await ctx.add_artifact("notes", "all fine", content_type="text/plain")
        return {"score": 0.82}

    make_worker.start(worker)
    done = await wait_for(client, job["id"])

    assert done["status"] == "completed" and done["result"] == {"score": 0.82}
    assert seen == {"payload": {"pages": 3}, "attempt": 1}
    assert [(p["name"], p["status"], p["result"]) for p in done["phases"]] == [
        ("research", "completed", {"pages": 3}),
        ("audit", "completed", "ok"),
    ]
    events = await history(client, job["id"])
    assert types(events) == [
        "JobCreated",
        "JobStarted",
        "PhaseStarted",
        "ProgressReported",
        "PhaseCompleted",
        "PhaseStarted",
        "PhaseCompleted",
        "ArtifactAdded",
        "ArtifactAdded",
        "JobCompleted",
    ]
    assert events[3]["data"] == {"percent": 40, "message": "read 2 of 3 pages", "details": {"page": 2}}
    # over HTTP the key (here the open mode's "api") acts, on behalf of the worker the SDK names; in-process, the worker
    assert {e["metadata"].get("on_behalf_of", e["metadata"]["actor"]) for e in events[1:]} == {f"worker:{worker.worker_id}"}
    assert await (await client.get(f"/jobs/{job['id']}/artifacts/summary")).json() == {"words": 120}
    assert await (await client.get(f"/jobs/{job['id']}/artifacts/notes")).text() == "all fine"


async def test_an_exception_is_retried_and_the_second_attempt_completes(client, make_worker):
    job = await create(client, max_attempts=2, retry_base_seconds=0)
    worker = make_worker()

    @worker.handler("report")
    async def handle(doc, ctx):
        await ctx.progress(10)
        if ctx.attempt == 1:
            raise RuntimeError("the model timed out")
        return "second time lucky"

    make_worker.start(worker)
    done = await wait_for(client, job["id"])

    assert (done["status"], done["attempts"], done["result"]) == ("completed", 2, "second time lucky")
    events = await history(client, job["id"])
    assert types(events) == [
        "JobCreated",
        "JobStarted",
        "ProgressReported",
        "RetryScheduled",
        "JobStarted",
        "ProgressReported",
        "JobCompleted",
    ]
    error = events[3]["data"]["error"]
    assert error["code"] == "handler_error"
    assert (error["type"], error["message"]) == ("builtins.RuntimeError", "the model timed out")
    assert "the model timed out" in error["traceback"]


async def test_a_permanent_error_fails_the_job_without_retry(client, make_worker):
    job = await create(client, max_attempts=3)
    worker = make_worker()

    @worker.handler("report")
    async def handle(doc, ctx):
        raise PermanentError("the document is not a PDF", details={"mime": "image/png"})

    make_worker.start(worker)
    done = await wait_for(client, job["id"])

    assert (done["status"], done["attempts"]) == ("failed", 1)
    assert done["error"]["message"] == "the document is not a PDF"
    assert done["error"]["details"] == {"mime": "image/png"}
    assert types(await history(client, job["id"]))[-1] == "JobFailed"


async def test_a_handler_registered_not_retryable_fails_at_its_first_exception(client, make_worker):
    job = await create(client, max_attempts=3)
    worker = make_worker()

    @worker.handler("report", retryable=False)
    async def handle(doc, ctx):
        raise ValueError("bad input")

    make_worker.start(worker)
    done = await wait_for(client, job["id"])

    assert (done["status"], done["attempts"], done["error"]["type"]) == ("failed", 1, "builtins.ValueError")


async def test_a_result_the_service_cannot_store_fails_the_job(client, make_worker):
    job = await create(client, max_attempts=3)
    worker = make_worker()

    @worker.handler("report")
    async def handle(doc, ctx):
        return {"text": "NUL \x00 inside"}

    make_worker.start(worker)
    done = await wait_for(client, job["id"])

    assert (done["status"], done["attempts"]) == ("failed", 1)
    assert done["error"]["code"] == "invalid_report"
    assert done["error"]["details"]["fields"][0]["field"] == "result.text"


async def test_a_refused_report_raises_in_the_handler_and_the_job_goes_on(client, make_worker):
    job = await create(client, phases=["research"])
    worker = make_worker()
    refused = []

    @worker.handler("report")
    async def handle(doc, ctx):
        try:
            await ctx.complete_phase("research")  # never started: the service refuses it
        except Exception as exc:  # noqa: BLE001 - the error is what the test looks at
            refused.append((type(exc).__name__, exc.code))
        return "done"

    make_worker.start(worker)
    done = await wait_for(client, job["id"])

    assert done["status"] == "completed"
    assert refused == [("ServiceError", "illegal_transition")]


async def test_concurrency_and_batch_claims(client, make_worker):
    jobs = [await create(client, payload={"n": n}) for n in range(24)]
    worker = make_worker(concurrency=4, claim_batch=3)
    running, most = set(), [0]

    @worker.handler("report")
    async def handle(doc, ctx):
        running.add(doc["id"])
        most[0] = max(most[0], len(running))
        await asyncio.sleep(0.02)
        await ctx.progress(100)
        running.discard(doc["id"])
        return doc["payload"]["n"] * 2

    make_worker.start(worker)
    results = [(await wait_for(client, job["id"]))["result"] for job in jobs]

    assert results == [n * 2 for n in range(24)]
    assert 1 < most[0] <= 4
    for job in jobs:
        assert types(await history(client, job["id"])) == [
            "JobCreated",
            "JobStarted",
            "ProgressReported",
            "JobCompleted",
        ]


async def test_a_worker_claims_only_the_types_it_handles(client, make_worker):
    other = await create(client, type="invoice")
    mine = await create(client)
    worker = make_worker()
    worker.handler("report")(_done)
    make_worker.start(worker)

    assert (await wait_for(client, mine["id"]))["status"] == "completed"
    await asyncio.sleep(0.2)
    assert (await wait_for(client, other["id"], "queued"))["attempts"] == 0


async def _done(doc, ctx):
    return None
