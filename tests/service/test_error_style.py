"""One error style: every error, over HTTP or a WebSocket, is `{"error": {code, message, details}}`;
one code always has one shape of details (validation errors: `details.fields`, a list of
{field, reason}); messages and reasons start in lower case, end without a full stop, and never
carry pydantic's "Value error, " or "Assertion failed, "."""

import re

import orjson
import pytest

from tests.security.conftest import bearer, make_key, secure_settings  # noqa: F401 (fixtures)
from tests.service.helpers import ok

#: the keys of `details` for each code
SHAPES = {
    "invalid_request": {"fields"},
    "job_not_found": {"job_id"},
    "phase_not_found": {"phase", "phases"},
    "artifact_not_found": {"artifact"},
    "type_not_found": {"type"},
    "illegal_transition": {"job_id", "status", "transition", "version", "phase", "phase_status"},
    "version_conflict": {"job_id", "expected_version", "current_version", "status"},
    "lease_lost": {"job_id", "status", "version"},
    "idempotency_key_reused": {"idempotency_key", "job_id", "index"},
    "unauthorized": set(),
    "forbidden": {"role", "action", "fields"},
    "rate_limited": {"retry_after", "limit"},
    "too_many_subscriptions": {"limit", "requested"},
    "host_not_allowed": {"fields"},
    "cross_origin": {"fields"},
    "unsupported_media_type": {"fields"},
    "not_found": set(),
    "method_not_allowed": set(),
    "payload_too_large": {"limit_bytes"},
}
PREFIXES = ("Value error", "Assertion failed", "value error", "assertion failed")
UUID0 = "00000000-0000-4000-8000-000000000000"


def _in_style(text: str) -> bool:
    """Lower case first, unless the first word is a name (`If-Match:`, `Origin:`) or an acronym (`JSON`)."""
    first = re.match(r"[^\s]+", text).group(0)
    named = first.endswith(":") or first.rstrip(",").isupper()
    return bool(text) and not text.endswith(".") and (named or not first[0].isupper())


def check(error: dict, code: str) -> None:
    """Assert `error` (the value of "error") is in the one style, with `code`."""
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert set(error["details"]) == SHAPES[code], error
    texts = [error["message"]]
    if "fields" in error["details"]:
        fields = error["details"]["fields"]
        assert isinstance(fields, list) and all(set(f) == {"field", "reason"} for f in fields), error
        texts += [f["reason"] for f in fields]
        if code == "invalid_request":
            assert fields and error["message"] == f"{fields[0]['field']}: {fields[0]['reason']}", error
    for text in texts:
        assert isinstance(text, str) and not any(p in text for p in PREFIXES), error
        assert _in_style(text), text


async def _answer(resp, status: int, code: str) -> None:
    body = await resp.json()
    assert resp.status == status, body
    assert set(body) == {"error"}, body
    check(body["error"], code)


BAD_BODIES = [
    ("post", "/jobs", b"{", 400, "invalid_request"),
    ("post", "/jobs", b'{"type": "r", "phases": ["a", "a"]}', 400, "invalid_request"),
    ("post", "/jobs", b'{"type": ""}', 400, "invalid_request"),
    ("post", "/jobs", b'{"type": "r", "priority": "high", "max_attempts": 0}', 400, "invalid_request"),
    ("post", "/jobs", b'{"type": "r", "run_at": "tomorrow"}', 400, "invalid_request"),
    ("post", "/jobs", b'{"type": "r", "extra": 1}', 400, "invalid_request"),
    ("post", "/jobs", b"[]", 400, "invalid_request"),
    ("post", "/jobs/batch", b'{"jobs": [{"type": "a", "idempotency_key": "k"}, {"type": "b", "idempotency_key": "k"}]}',
     400, "invalid_request"),
    ("post", "/jobs/batch", b'{"jobs": []}', 400, "invalid_request"),
    ("post", "/workers/claim", b'{"worker_id": "w", "types": []}', 400, "invalid_request"),
    ("put", "/types/ocr", b'{"payload_schema": {"type": 7}}', 400, "invalid_request"),
    ("put", "/types/ocr", b'{"max_attempts": "x"}', 400, "invalid_request"),
    ("get", "/jobs?limit=0", None, 400, "invalid_request"),
    ("get", "/jobs?status=nope", None, 400, "invalid_request"),
    ("get", "/events?after=-1", None, 400, "invalid_request"),
    ("get", f"/jobs/{UUID0}?as_of=yesterday", None, 400, "invalid_request"),
    ("get", "/jobs/not-a-uuid", None, 404, "job_not_found"),
    ("get", f"/jobs/{UUID0}", None, 404, "job_not_found"),
    ("get", "/types/nope", None, 404, "type_not_found"),
    ("get", "/nowhere", None, 404, "not_found"),
    ("patch", "/jobs", b"{}", 405, "method_not_allowed"),
    ("post", "/jobs", b'{"type": "' + b"x" * (1024 * 1024 + 10) + b'"}', 413, "payload_too_large"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), BAD_BODIES)
async def test_every_bad_request_answers_in_the_one_style(client, method, path, body, status, code):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    await _answer(await client.request(method, path, data=body, headers=headers), status, code)


JOB_ERRORS = [  # (state, action, body, headers, status, code)
    ("queued", "fail", {"error": ""}, None, 400, "invalid_request"),
    ("running", "artifacts", {"name": "a", "content_type": "text/plain", "data": 1}, None, 400, "invalid_request"),
    ("running", "artifacts", {"name": "a", "content_type": "not a type", "data": "x"}, None, 400, "invalid_request"),
    ("running", "progress", {"percent": 101}, None, 400, "invalid_request"),
    ("running", "cancel", None, {"If-Match": "abc"}, 400, "invalid_request"),
    ("running", "cancel", None, {"If-Match": '"1"'}, 409, "version_conflict"),
    ("cancelled", "start", None, None, 409, "illegal_transition"),
    ("running", "phases/nope/start", None, None, 404, "phase_not_found"),
    ("claimed", "progress", {"percent": 5, "lease_token": "wrong"}, None, 409, "lease_lost"),
]


@pytest.mark.parametrize(("state", "action", "body", "headers", "status", "code"), JOB_ERRORS)
async def test_every_refused_command_answers_in_the_one_style(client, state, action, body, headers, status, code):
    job = await ok(await client.post("/jobs", json={"type": "report", "phases": ["research"]}), 201)
    if state == "claimed":
        await ok(await client.post("/workers/claim", json={"worker_id": "w", "types": ["report"]}))
    elif state != "queued":
        await ok(await client.post(f"/jobs/{job['id']}/{'start' if state == 'running' else 'cancel'}"))
    await _answer(await client.post(f"/jobs/{job['id']}/{action}", json=body, headers=headers), status, code)


async def test_missing_artifacts_and_reused_idempotency_keys_answer_in_the_one_style(client):
    job = await ok(await client.post("/jobs", json={"type": "report"}, headers={"Idempotency-Key": "k"}), 201)
    await _answer(await client.get(f"/jobs/{job['id']}/artifacts/nope"), 404, "artifact_not_found")
    for path, body in [("/jobs", {"type": "other"}), ("/jobs/batch", {"jobs": [{"type": "other", "idempotency_key": "k"}]})]:
        headers = {"Idempotency-Key": "k"} if path == "/jobs" else None
        await _answer(await client.post(path, json=body, headers=headers), 422, "idempotency_key_reused")


async def test_key_refusals_answer_in_the_one_style(serve, secure_settings, make_key):
    service = await serve(secure_settings.model_copy(update={"rate_limit": "3/minute"}))
    await _answer(await service.get("/jobs"), 401, "unauthorized")
    await _answer(await service.get("/jobs", headers={"Authorization": "Basic x"}), 401, "unauthorized")
    await _answer(await service.get("/jobs", headers=bearer("jl_0_unknown")), 401, "unauthorized")
    worker = bearer(await make_key("worker"))
    await _answer(await service.post("/jobs", json={"type": "report"}, headers=worker), 403, "forbidden")
    limited = bearer(await make_key("client", types=("ocr",)))
    await _answer(await service.post("/jobs", json={"type": "report"}, headers=limited), 403, "forbidden")
    for _ in range(2):
        await service.get("/jobs", headers=limited)
    await _answer(await service.get("/jobs", headers=limited), 429, "rate_limited")


async def test_socket_errors_answer_in_the_one_style(client):
    async with client.ws_connect("/ws") as ws:
        for message in [b"{", {"type": "subscribe"}, {"type": "unsubscribe", "all": True, "after": 1},
                        {"type": "subscribe", "job_types": [""]}, {"type": "dance"}]:
            await ws.send_str(message.decode() if isinstance(message, bytes) else orjson.dumps(message).decode())
            answer = await ws.receive_json(timeout=10)
            assert answer["type"] == "error", answer
            check(answer["error"], "invalid_request")
    job = await ok(await client.post("/jobs", json={"type": "report"}), 201)
    async with client.ws_connect(f"/jobs/{job['id']}/ws") as ws:
        assert (await ws.receive_json(timeout=10))["type"] == "job"
        await ws.send_str('{"type": "subscribe", "all": true}')
        check((await ws.receive_json(timeout=10))["error"], "invalid_request")
