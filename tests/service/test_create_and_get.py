"""POST /jobs, idempotency keys, and GET /jobs/{id} with ETags."""

import asyncio
from datetime import datetime, timedelta

import pytest

from tests.service.helpers import EVERY_FIELD, all_events, error_of, ok


async def test_create_answers_201_with_the_document_and_location(client):
    body = EVERY_FIELD
    resp = await client.post("/jobs", json=body)
    job = await ok(resp, 201)

    assert resp.headers["Location"] == f"/jobs/{job['id']}"
    assert resp.headers["ETag"] == '"1"'
    assert job["type"] == "rfp-analysis"
    assert job["payload"] == body["payload"]
    assert job["metadata"] == {"customer": "acme"}
    assert [(p["name"], p["status"]) for p in job["phases"]] == [("research", "pending"), ("audit", "pending")]
    assert (job["status"], job["priority"], job["max_attempts"], job["attempts"]) == ("queued", 5, 3, 0)
    assert datetime.fromisoformat(job["run_at"]) == datetime.fromisoformat("2030-01-01T10:00:00+00:00")
    assert (job["progress"], job["result"], job["error"], job["version"]) == (None, None, None, 1)
    created = datetime.fromisoformat(job["created_at"])
    assert datetime.fromisoformat(job["expires_at"]) - created == timedelta(seconds=3600)
    assert job["position"] == (await all_events(client))[-1]["position"]


async def test_create_with_only_a_type_takes_the_defaults(client, create_job):
    job = await create_job(type="report")

    assert (job["payload"], job["metadata"], job["phases"]) == (None, {}, [])
    assert (job["priority"], job["max_attempts"], job["run_at"], job["idempotency_key"]) == (0, 1, None, None)
    created = datetime.fromisoformat(job["created_at"])
    assert datetime.fromisoformat(job["expires_at"]) - created == timedelta(hours=24)


async def test_location_leads_to_the_same_document(client):
    resp = await client.post("/jobs", json={"type": "report", "payload": {"x": 1.5}})
    created = await ok(resp, 201)

    fetched = await ok(await client.get(resp.headers["Location"]))

    assert fetched == created


async def test_get_answers_the_document_as_last_changed(client, job_in, send):
    job = await job_in("phase_running")
    changed = await ok(await send(job, "progress", {"percent": 12.5, "message": "reading", "details": {"p": 3}}))

    resp = await client.get(f"/jobs/{job['id']}")
    fetched = await ok(resp)

    assert fetched == changed
    assert resp.headers["ETag"] == f'"{changed["version"]}"'
    assert fetched["progress"]["percent"] == 12.5
    assert fetched["position"] == (await all_events(client))[-1]["position"]


async def test_if_none_match_with_the_current_etag_answers_304(client, create_job):
    job = await create_job()

    resp = await client.get(f"/jobs/{job['id']}", headers={"If-None-Match": '"1"'})

    assert resp.status == 304
    assert resp.headers["ETag"] == '"1"'
    assert await resp.read() == b""


@pytest.mark.parametrize("if_none_match", ['"2"', '"11"', '"0", "12"'])
async def test_if_none_match_with_another_etag_answers_the_document(client, create_job, if_none_match):
    job = await create_job()

    resp = await client.get(f"/jobs/{job['id']}", headers={"If-None-Match": if_none_match})

    assert await ok(resp) == job


@pytest.mark.parametrize("query", [{}, {"as_of": "2100-01-01T00:00:00Z"}, {"at_position": "1"}])
async def test_an_empty_if_none_match_is_400_however_the_job_is_read(client, create_job, query):
    """The header is checked on every path: the status row, and a read of the job's past from the log."""
    job = await create_job()

    resp = await client.get(f"/jobs/{job['id']}", params=query, headers={"If-None-Match": ""})

    body = await resp.json()
    assert resp.status == 400, body
    assert body["error"]["details"]["fields"][0]["field"] == "If-None-Match"


async def test_etag_moves_on_after_a_change(client, create_job, send):
    job = await create_job()
    await ok(await send(job, "start"))

    resp = await client.get(f"/jobs/{job['id']}", headers={"If-None-Match": '"1"'})

    assert (await ok(resp))["version"] == 2
    assert resp.headers["ETag"] == '"2"'


async def test_same_idempotency_key_and_body_answers_the_same_job(client):
    body, headers = {"type": "report", "payload": {"n": 1}}, {"Idempotency-Key": "order-42"}
    first = await ok(await client.post("/jobs", json=body, headers=headers), 201)
    log = await all_events(client)

    resp = await client.post("/jobs", json=body, headers=headers)
    again = await ok(resp, 200)

    assert again == first
    assert again["idempotency_key"] == "order-42"
    assert resp.headers["Location"] == f"/jobs/{first['id']}"
    assert await all_events(client) == log


async def test_idempotent_replay_answers_the_job_as_it_is_now(client, send):
    headers = {"Idempotency-Key": "k1"}
    first = await ok(await client.post("/jobs", json={"type": "report"}, headers=headers), 201)
    started = await ok(await send(first, "start"))

    again = await ok(await client.post("/jobs", json={"type": "report"}, headers=headers), 200)

    assert again == started


async def test_same_idempotency_key_with_another_body_answers_422(client, unchanged):
    await ok(await client.post("/jobs", json={"type": "report"}, headers={"Idempotency-Key": "k1"}), 201)

    async with unchanged():
        resp = await client.post("/jobs", json={"type": "invoice"}, headers={"Idempotency-Key": "k1"})
        await error_of(resp, 422, "idempotency_key_reused")


async def test_different_idempotency_keys_create_different_jobs(client):
    a = await ok(await client.post("/jobs", json={"type": "report"}, headers={"Idempotency-Key": "a"}), 201)
    b = await ok(await client.post("/jobs", json={"type": "report"}, headers={"Idempotency-Key": "b"}), 201)

    assert a["id"] != b["id"]


async def test_concurrent_creates_with_one_key_make_one_job(client):
    def post():
        return client.post("/jobs", json={"type": "report"}, headers={"Idempotency-Key": "once"})

    responses = await asyncio.gather(*(post() for _ in range(5)))

    bodies = [await r.json() for r in responses]
    assert sorted(r.status for r in responses) == [200, 200, 200, 200, 201]
    assert len({b["id"] for b in bodies}) == 1
    assert [e["type"] for e in await all_events(client)] == ["JobCreated"]


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_idempotency_key_of_bad_length_answers_400(client, unchanged, key):
    async with unchanged():
        resp = await client.post("/jobs", json={"type": "report"}, headers={"Idempotency-Key": key})
        details = await error_of(resp, 400, "invalid_request")

    assert [f["field"] for f in details["fields"]] == ["Idempotency-Key"]


async def test_idempotency_key_of_255_characters_is_accepted(client):
    resp = await client.post("/jobs", json={"type": "report"}, headers={"Idempotency-Key": "k" * 255})

    assert (await ok(resp, 201))["idempotency_key"] == "k" * 255
