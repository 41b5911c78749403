"""Valid JSON that is hard to store (huge integers, NUL characters, deep nesting): never a 500.

Each value is either stored and answered back unchanged, or refused with a 400 naming
the field and nothing written; both backends must do one or the other.
"""

import asyncio

import pytest

from tests.service.helpers import all_events, all_jobs, error_of, ok

NUL = "a\u0000b"
CREATE = [
    ({"type": "report", "payload": 2**64}, "payload"),
    ({"type": "report", "payload": {"n": -(2**63) - 1}}, "payload.n"),
    ({"type": "report", "metadata": {"big": 10**30}}, "metadata.big"),
    ({"type": "report", "payload": NUL}, "payload"),
    ({"type": "report", "payload": {NUL: 1}}, "payload"),
    ({"type": "report", "metadata": {"note": NUL}}, "metadata.note"),
    ({"type": NUL}, "type"),
    ({"type": "report", "phases": [NUL]}, "phases.0"),
]
PROGRESS = [
    ({"percent": 5, "message": NUL}, "message"),
    ({"percent": 5, "details": {"rows": 2**70}}, "details.rows"),
    ({"percent": 5, "details": [NUL]}, "details.0"),
]


async def _stored_or_refused(client, send_request, field: str, sent):
    """Send; then assert either a faithful round trip of `sent` or a 400 on `field` that wrote nothing."""
    before = (await all_events(client), await all_jobs(client))
    resp = await send_request()
    assert resp.status in (200, 201, 400), await resp.text()
    if resp.status == 400:
        details = await error_of(resp, 400, "invalid_request")
        assert field in [f["field"] for f in details["fields"]]
        assert (await all_events(client), await all_jobs(client)) == before
        return None
    doc = await resp.json()
    assert await ok(await client.get(f"/jobs/{doc['id']}")) == doc
    assert sent(doc)
    return doc


@pytest.mark.parametrize(("body", "field"), CREATE)
async def test_create_with_a_hard_value_stores_it_or_refuses_it(client, body, field):
    def same(doc):
        view = {**doc, "phases": [p["name"] for p in doc["phases"]]}
        return {k: view[k] for k in body} == body

    await _stored_or_refused(client, lambda: client.post("/jobs", json=body), field, same)


@pytest.mark.parametrize(("body", "field"), PROGRESS)
async def test_progress_with_a_hard_value_stores_it_or_refuses_it(client, job_in, send, body, field):
    job = await job_in("running")

    def same(doc):
        return {k: doc["progress"][k] for k in body} == body

    await _stored_or_refused(client, lambda: send(job, "progress", body), field, same)


async def test_deeply_nested_payload_is_stored(client, create_job):
    payload = [[[[[[[[[[{"deep": [1, 2]}]]]]]]]]]]

    job = await create_job(payload=payload)

    assert (await ok(await client.get(f"/jobs/{job['id']}")))["payload"] == payload


async def test_payload_nested_beyond_the_parser_limit_answers_400(client, unchanged):
    raw = b'{"type":"report","payload":' + b"[" * 1000 + b"]" * 1000 + b"}"

    async with unchanged():
        resp = await client.post("/jobs", data=raw, headers={"Content-Type": "application/json"})
        details = await error_of(resp, 400, "invalid_request")

    assert [f["field"] for f in details["fields"]] == ["body"]


async def test_a_value_one_backend_cannot_store_does_not_fail_other_requests(client):
    """Appends are group-committed: one refused request must not take its batch-mates down."""
    bad = client.post("/jobs", json={"type": "report", "payload": NUL})
    good = [client.post("/jobs", json={"type": "report", "payload": n}) for n in range(5)]

    responses = await asyncio.gather(bad, *good)

    assert responses[0].status in (201, 400)
    assert [r.status for r in responses[1:]] == [201] * 5
    assert sorted(j["payload"] for j in await all_jobs(client) if j["payload"] != NUL) == list(range(5))
