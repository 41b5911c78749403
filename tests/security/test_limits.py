"""Limits: per-key request rate (429 + Retry-After), JSON depth, string and array lengths,
payload size per job type. Each is configurable; a refusal names the field and changes nothing."""

import pytest

from tests.security.conftest import bearer
from tests.service.helpers import error_of, ok


async def test_a_key_past_its_rate_gets_429_with_retry_after(serve, secure_settings, make_key):
    service = await serve(secure_settings.model_copy(update={"rate_limit": "5/minute"}))
    key, other = bearer(await make_key("client")), bearer(await make_key("client"))
    for _ in range(5):
        await ok(await service.get("/jobs", headers=key))
    resp = await service.get("/jobs", headers=key)
    details = await error_of(resp, 429, "rate_limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 60 and details["limit"] == "5 per 1 minute"
    await ok(await service.get("/jobs", headers=other))  # per key


@pytest.fixture
async def small(serve, settings):
    return await serve(settings.model_copy(update={"max_json_depth": 3, "max_string_length": 10, "max_array_length": 4}))


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"payload": {"a": {"b": {"c": {"d": 1}}}}}, "payload.a.b.c.d", "nested deeper than 3 levels"),
        ({"payload": {"text": "x" * 11}}, "payload.text", "longer than 10 characters"),
        ({"metadata": {"k": "x" * 11}}, "metadata.k", "longer than 10 characters"),
        ({"payload": [1, 2, 3, 4, 5]}, "payload", "more than 4 items"),
        ({"payload": {str(i): i for i in range(5)}}, "payload", "more than 4 items"),
    ],
)
async def test_configured_json_limits_refuse_with_the_field(small, store, body, field, reason):
    head = await store.log.head()
    details = await error_of(await small.post("/jobs", json={"type": "r", **body}), 400, "invalid_request")
    assert details["fields"] == [{"field": field, "reason": reason}]
    assert await store.log.head() == head
    await ok(await small.post("/jobs", json={"type": "r", "payload": {"text": "x" * 10, "list": [1, 2, 3, 4]}}), 201)


async def test_the_report_of_a_worker_is_bounded_too(small):
    job = await ok(await small.post("/jobs", json={"type": "r"}), 201)
    await ok(await small.post(f"/jobs/{job['id']}/start", json={}))
    details = await error_of(await small.post(f"/jobs/{job['id']}/complete", json={"result": "y" * 11}), 400,
                             "invalid_request")
    assert details["fields"][0]["field"] == "result"


async def test_payload_size_per_type(serve, settings, store):
    service = await serve(settings.model_copy(update={"max_payload_bytes": 100}))
    await ok(await service.put("/types/small", json={"max_payload_bytes": 20}))
    head = await store.log.head()
    details = await error_of(await service.post("/jobs", json={"type": "small", "payload": "x" * 20}), 400,
                             "invalid_request")
    assert details["fields"] == [{"field": "payload", "reason": "22 bytes as JSON, more than the 20 allowed for type 'small'"}]
    await error_of(await service.post("/jobs", json={"type": "other", "payload": "x" * 100}), 400, "invalid_request")
    assert await store.log.head() == head
    await ok(await service.post("/jobs", json={"type": "small", "payload": "x" * 18}), 201)
    await ok(await service.post("/jobs", json={"type": "other", "payload": "x" * 98}), 201)
