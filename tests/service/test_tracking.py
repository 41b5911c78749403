"""Tracked jobs: the application reports start, phases, progress and the outcome itself."""

from datetime import datetime

import pytest

from tests.service.helpers import error_of, ok

LIFE = [
    ("start", None),
    ("phases/research/start", None),
    ("progress", {"percent": 40, "message": "reading sources", "details": {"sources": 3}}),
    ("phases/research/complete", {"result": {"findings": ["a", "b"]}, "confidence": 0.8}),
    ("phases/audit/start", None),
    ("phases/audit/complete", {"result": "clean"}),
    ("complete", {"result": {"report": "s3://reports/1.pdf"}}),
]
LIFE_EVENTS = [
    "JobCreated",
    "JobStarted",
    "PhaseStarted",
    "ProgressReported",
    "PhaseCompleted",
    "PhaseStarted",
    "PhaseCompleted",
    "JobCompleted",
]


async def test_whole_life_of_a_tracked_job_with_phases(client, create_job, send):
    job = await create_job(type="rfp", payload={"rfp": 7}, phases=["research", "audit"])
    for version, (action, body) in enumerate(LIFE, start=2):
        resp = await send(job, action, body)
        answered = await ok(resp)
        assert (answered["version"], resp.headers["ETag"]) == (version, f'"{version}"'), action

    final = await ok(await client.get(f"/jobs/{job['id']}"))
    history = (await ok(await client.get(f"/jobs/{job['id']}/events")))["events"]

    assert final == answered
    assert (final["status"], final["attempts"], final["version"]) == ("completed", 1, 8)
    assert final["result"] == {"report": "s3://reports/1.pdf"}
    assert final["progress"]["percent"] == 40 and final["progress"]["message"] == "reading sources"
    assert final["progress"]["details"] == {"sources": 3}
    research, audit = final["phases"]
    assert (research["status"], research["result"], research["confidence"]) == (
        "completed",
        {"findings": ["a", "b"]},
        0.8,
    )
    assert (audit["status"], audit["result"], audit["confidence"]) == ("completed", "clean", None)
    assert final["started_at"] <= research["started_at"] <= research["finished_at"] <= audit["started_at"]
    assert audit["finished_at"] <= final["finished_at"] == final["updated_at"]
    assert [e["type"] for e in history] == LIFE_EVENTS
    assert [e["version"] for e in history] == list(range(1, 9))
    assert {e["job_id"] for e in history} == {job["id"]}
    assert final["position"] == history[-1]["position"]


async def test_start_makes_the_job_running(create_job, send):
    job = await create_job()

    started = await ok(await send(job, "start"))

    assert (started["status"], started["attempts"], started["version"]) == ("running", 1, 2)
    assert datetime.fromisoformat(started["started_at"]) >= datetime.fromisoformat(job["created_at"])


async def test_progress_keeps_the_latest_report(job_in, send):
    job = await job_in("running")
    await ok(await send(job, "progress", {"percent": 10, "message": "first"}))

    latest = await ok(await send(job, "progress", {"percent": 55.5}))

    assert latest["progress"]["percent"] == 55.5
    assert latest["progress"]["message"] is None
    assert latest["progress"]["details"] is None
    assert latest["progress"]["reported_at"] == latest["updated_at"]


@pytest.mark.parametrize("percent", [0, 100])
async def test_progress_accepts_the_bounds(job_in, send, percent):
    job = await job_in("running")

    assert (await ok(await send(job, "progress", {"percent": percent})))["progress"]["percent"] == percent


async def test_phase_fail_records_the_error_and_keeps_the_job_running(client, job_in, send):
    job = await job_in("phase_running")

    failed = await ok(await send(job, "phases/research/fail", {"error": {"code": "timeout", "after_s": 30}}))

    assert failed["status"] == "running"
    assert failed["phases"][0]["status"] == "failed"
    assert failed["phases"][0]["error"] == {"code": "timeout", "after_s": 30}
    assert failed["phases"][1]["status"] == "pending"


async def test_fail_records_the_error(client, job_in, send):
    job = await job_in("running")

    failed = await ok(await send(job, "fail", {"error": "the model refused"}))

    assert (failed["status"], failed["error"], failed["result"]) == ("failed", "the model refused", None)
    assert failed["finished_at"] is not None
    events = (await ok(await client.get(f"/jobs/{job['id']}/events")))["events"]
    assert (events[-1]["type"], events[-1]["data"]["error"]) == ("JobFailed", "the model refused")


@pytest.mark.parametrize("state", ["queued", "running", "phase_running"])
@pytest.mark.parametrize("method", ["DELETE", "POST"])
async def test_cancel_a_live_job(client, job_in, state, method):
    job = await job_in(state)
    path = f"/jobs/{job['id']}" + ("/cancel" if method == "POST" else "")

    resp = await client.request(method, path, json={"reason": "customer withdrew"}, headers={"X-Actor": "alice"})
    cancelled = await ok(resp)

    assert (cancelled["status"], cancelled["cancel_reason"], cancelled["cancelled_by"]) == (
        "cancelled",
        "customer withdrew",
        "api",  # the authenticated actor (the open mode's); X-Actor is kept apart, as on_behalf_of
    )
    assert cancelled["version"] == job["version"] + 1
    assert cancelled["finished_at"] is not None
    assert await ok(await client.get(f"/jobs/{job['id']}")) == cancelled


@pytest.mark.parametrize(("action", "body"), [("cancel", {}), ("fail", {"error": "x"})])
async def test_a_phase_running_when_the_job_ends_is_interrupted(job_in, send, action, body):
    job = await job_in("phase_running")

    ended = await ok(await send(job, action, body))

    research, audit = ended["phases"]
    assert (research["status"], research["finished_at"]) == ("interrupted", ended["finished_at"])
    assert research["started_at"] is not None and audit["status"] == "pending"


async def test_cancel_without_a_body(client, job_in):
    job = await job_in("queued")

    cancelled = await ok(await client.delete(f"/jobs/{job['id']}"))

    assert (cancelled["status"], cancelled["cancel_reason"], cancelled["cancelled_by"]) == ("cancelled", None, "api")


async def test_phase_with_no_such_name_answers_404(job_in, send, unchanged):
    job = await job_in("running")

    async with unchanged():
        details = await error_of(await send(job, "phases/design/start"), 404, "phase_not_found")

    assert details["phases"] == ["research", "audit"]


async def test_request_metadata_is_recorded_with_the_event(client, create_job, send):
    job = await create_job()
    headers = {"X-Actor": "worker-7", "X-Request-Id": "req-1", "X-Correlation-Id": "order-9"}

    await ok(await send(job, "start", None, headers))
    await ok(await send(job, "progress", {"percent": 5}, {"X-Request-Id": "req-2"}))

    events = (await ok(await client.get(f"/jobs/{job['id']}/events")))["events"]
    assert events[1]["metadata"] == {
        "actor": "api", "on_behalf_of": "worker-7", "request_id": "req-1", "correlation_id": "order-9",
        "tenant": "default",
    }
    assert events[2]["metadata"] == {
        "actor": "api", "request_id": "req-2", "correlation_id": "req-2", "tenant": "default"
    }
