"""A failed attempt's internals (the SDK's traceback, with the worker's file paths, and any
detail but a code and a message) are shown to worker, auditor and admin keys only, on every
read path; and a job that completes carries no earlier attempt's error (its history does)."""

import orjson
import pytest

from jobledger.projections import job_status
from tests.security.conftest import bearer
from tests.service.helpers import ok

ERROR = {
    "code": "handler_error", "message": "disk full", "type": "OSError",
    "traceback": 'Traceback (most recent call last):\n  File "/srv/worker/secret_pipeline.py", line 7\nOSError: disk full',
}
SHOWN = {"code": "handler_error", "message": "disk full"}


@pytest.fixture
async def keys(make_key):
    return {role: bearer(await make_key(role)) for role in ("client", "worker", "auditor", "admin")}


async def _failed_once(secure, keys) -> tuple[dict, dict]:
    """A job whose phase and first attempt failed with ERROR (a retry is queued); and a fresh claim of it."""
    job = await ok(await secure.post("/jobs", json={"type": "ocr", "phases": ["p"], "max_attempts": 3,
                                                     "retry_base_seconds": 0, "retry_max_seconds": 0},
                                     headers=keys["client"]), 201)
    [doc] = (await ok(await secure.post("/workers/claim", json={"worker_id": "w"}, headers=keys["worker"])))["jobs"]
    lease = {"lease_token": doc["lease_token"]}
    for action, body in [("phases/p/start", {}), ("phases/p/fail", {"error": ERROR}),
                         ("fail", {"error": ERROR, "retryable": True})]:
        await ok(await secure.post(f"/jobs/{job['id']}/{action}", json={**body, **lease}, headers=keys["worker"]))
    return job, doc


def _errors_in(text: str) -> bool:
    return "secret_pipeline" in text or "OSError" in text


async def test_a_client_sees_only_the_code_and_message_of_an_error(secure, keys):
    """Defends against a client key reading a worker's traceback and file paths (GET, list,
    command answers, a job's events, the whole log)."""
    job, _ = await _failed_once(secure, keys)
    client = keys["client"]

    got = await ok(await secure.get(f"/jobs/{job['id']}", headers=client))
    assert (got["error"], got["phases"][0]["error"]) == (SHOWN, SHOWN)
    past = await ok(await secure.get(f"/jobs/{job['id']}", params={"at_position": got["position"]}, headers=client))
    listed = (await ok(await secure.get("/jobs", headers=client)))["jobs"]
    events = (await ok(await secure.get(f"/jobs/{job['id']}/events", headers=client)))["events"]
    answer = await ok(await secure.post(f"/jobs/{job['id']}/cancel", json={}, headers=client))
    for seen in (past, listed, events, answer):
        assert not _errors_in(orjson.dumps(seen).decode()), seen
    assert [e["data"]["error"] for e in events if "error" in e["data"]] == [SHOWN, SHOWN]

    for role in ("worker", "auditor", "admin"):
        full = await ok(await secure.get(f"/jobs/{job['id']}/events", headers=keys[role])) if role != "worker" else None
        doc = await ok(await secure.get(f"/jobs/{job['id']}", headers=keys[role]))
        assert doc["phases"][0]["error"] == ERROR, role
        if full is not None:
            assert [e["data"]["error"] for e in full["events"] if "error" in e["data"]] == [ERROR, ERROR], role
    log = (await ok(await secure.get("/events", headers=keys["auditor"])))["events"]
    assert _errors_in(orjson.dumps(log).decode())


async def test_a_clients_websocket_sees_only_the_code_and_message(secure, keys):
    """Defends against the traceback reaching a client through live updates: the first
    document, a replay from the log, and events as they happen."""
    job, doc = await _failed_once(secure, keys)
    async with secure.ws_connect(f"/jobs/{job['id']}/ws", headers=keys["client"]) as per_job, \
            secure.ws_connect("/ws", headers=keys["client"]) as socket, \
            secure.ws_connect("/ws", headers=keys["admin"]) as admins:
        first = await per_job.receive_json(timeout=10)
        assert first["type"] == "job" and first["job"]["error"] == SHOWN
        for ws in (socket, admins):
            await ws.send_str(orjson.dumps({"type": "subscribe", "jobs": [job["id"]], "after": 0}).decode())
        replayed = [await socket.receive_json(timeout=10) for _ in range(6)]  # subscribed + 5 events
        [again] = (await ok(await secure.post("/workers/claim", json={"worker_id": "w"}, headers=keys["worker"])))["jobs"]
        await ok(await secure.post(f"/jobs/{job['id']}/fail", json={"error": ERROR, "lease_token": again["lease_token"]},
                                   headers=keys["worker"]))
        live = [await socket.receive_json(timeout=10) for _ in range(2)]  # JobStarted, JobFailed
        live_per_job = [await per_job.receive_json(timeout=10) for _ in range(2)]
        admin_seen = [await admins.receive_json(timeout=10) for _ in range(8)]

    assert [m.get("event") for m in live] == ["JobStarted", "JobFailed"]
    assert live[-1]["data"]["error"] == live[-1]["job"]["error"] == SHOWN
    for messages in (replayed, live, live_per_job):
        assert not _errors_in(orjson.dumps(messages).decode()), messages
    assert admin_seen[-1]["data"]["error"] == ERROR and _errors_in(orjson.dumps(admin_seen[:6]).decode())


async def test_a_job_completed_after_a_failed_attempt_carries_no_error(secure, store, keys):
    """Defends against a completed job still showing an earlier attempt's error (the history
    keeps it), and against a rebuild of the status table giving another document."""
    job, _ = await _failed_once(secure, keys)
    [again] = (await ok(await secure.post("/workers/claim", json={"worker_id": "w"}, headers=keys["worker"])))["jobs"]
    done = await ok(await secure.post(f"/jobs/{job['id']}/complete", json={"lease_token": again["lease_token"]},
                                      headers=keys["worker"]))

    assert (done["status"], done["error"]) == ("completed", None)
    events = (await ok(await secure.get(f"/jobs/{job['id']}/events", headers=keys["admin"])))["events"]
    assert [e["data"]["error"] for e in events if e["type"] == "RetryScheduled"] == [ERROR]
    before = await ok(await secure.get(f"/jobs/{job['id']}", headers=keys["admin"]))
    await store.status.rebuild_status(job_status.Rebuild())
    assert await ok(await secure.get(f"/jobs/{job['id']}", headers=keys["admin"])) == before == done
