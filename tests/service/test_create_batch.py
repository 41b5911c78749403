"""POST /jobs/batch: many jobs in one request, written all together or not at all."""

import asyncio
from datetime import datetime

import pytest

from tests.service.helpers import EVERY_FIELD, all_events, all_jobs, bad_fields, error_of, ok

# What differs between two creates of the same body: the job, its times and its place in the log.
PER_JOB = {"id", "created_at", "updated_at", "expires_at", "position"}


def same_but_identity(a: dict, b: dict) -> bool:
    return {k: v for k, v in a.items() if k not in PER_JOB} == {k: v for k, v in b.items() if k not in PER_JOB}


async def batch(client, jobs: list[dict], status: int = 201, **kwargs) -> dict:
    return await ok(await client.post("/jobs/batch", json={"jobs": jobs}, **kwargs), status)


async def test_a_batch_creates_each_job_in_order_and_answers_their_documents(client):
    given = [{"type": "report", "payload": {"n": n}, "priority": n} for n in range(5)]

    answer = await batch(client, given)

    assert answer["created"] == [True] * 5
    jobs = answer["jobs"]
    assert [j["payload"] for j in jobs] == [{"n": n} for n in range(5)]
    assert [(j["status"], j["priority"], j["version"]) for j in jobs] == [("queued", n, 1) for n in range(5)]
    for job in jobs:
        assert await ok(await client.get(f"/jobs/{job['id']}")) == job
    log = await all_events(client)
    assert [(e["type"], e["job_id"]) for e in log] == [("JobCreated", j["id"]) for j in jobs]
    assert [j["position"] for j in jobs] == [e["position"] for e in log]


async def test_a_batch_job_is_the_job_post_jobs_makes_of_the_same_body(client):
    body = EVERY_FIELD
    alone = await ok(await client.post("/jobs", json=body), 201)

    (in_batch,) = (await batch(client, [body]))["jobs"]

    assert same_but_identity(in_batch, alone)
    created = datetime.fromisoformat(in_batch["created_at"])
    assert (datetime.fromisoformat(in_batch["expires_at"]) - created).total_seconds() == 3600


async def test_a_job_of_a_batch_replays_by_its_idempotency_key(client):
    first = await batch(client, [{"type": "report", "idempotency_key": "a"}, {"type": "report"}])

    again = await batch(client, [{"type": "report"}, {"type": "report", "idempotency_key": "a"}])

    assert again["created"] == [True, False]
    assert again["jobs"][1] == await ok(await client.get(f"/jobs/{first['jobs'][0]['id']}"))
    assert again["jobs"][0]["id"] not in {j["id"] for j in first["jobs"]}
    assert len(await all_jobs(client)) == 3
    assert [e["type"] for e in await all_events(client)] == ["JobCreated"] * 3


async def test_a_batch_of_replays_only_answers_200(client):
    jobs = [{"type": "report", "idempotency_key": f"k{n}", "payload": n} for n in range(3)]
    first = await batch(client, jobs)

    again = await batch(client, jobs, 200)

    assert again == {"jobs": first["jobs"], "created": [False] * 3}


async def test_an_idempotency_key_finds_the_job_post_jobs_made_with_it(client):
    alone = await ok(await client.post("/jobs", json={"type": "report", "payload": 7}, headers={"Idempotency-Key": "k"}), 201)

    answer = await batch(client, [{"type": "report", "payload": 7, "idempotency_key": "k"}], 200)

    assert answer["jobs"] == [alone]


async def test_a_key_used_with_another_body_writes_nothing_of_the_batch(client, unchanged):
    await batch(client, [{"type": "report", "payload": 1, "idempotency_key": "k"}])

    async with unchanged():
        resp = await client.post(
            "/jobs/batch",
            json={"jobs": [{"type": "report", "payload": 2}, {"type": "report", "payload": 2, "idempotency_key": "k"}]},
        )
        details = await error_of(resp, 422, "idempotency_key_reused")

    assert (details["idempotency_key"], details["index"]) == ("k", 1)


async def test_two_batches_racing_with_one_key_make_one_job(client):
    jobs = [{"type": "report", "idempotency_key": "shared"}]

    responses = await asyncio.gather(*(client.post("/jobs/batch", json={"jobs": jobs}) for _ in range(8)))

    answers = [await r.json() for r in responses]
    assert sorted(r.status for r in responses) == [200] * 7 + [201]
    assert len({a["jobs"][0]["id"] for a in answers}) == 1
    assert sorted(a["created"][0] for a in answers) == [False] * 7 + [True]
    assert [e["type"] for e in await all_events(client)] == ["JobCreated"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"jobs": []}, "jobs"),
        ({"jobs": [{"type": "report"}] * 101}, "jobs"),
        ({"jobs": [{"type": "report"}, {"payload": 1}]}, "jobs.1.type"),
        ({"jobs": [{"type": "report"}, {"type": "report", "priority": "high"}]}, "jobs.1.priority"),
        ({"jobs": [{"type": "report", "max_attempts": 0}, {"type": "report"}]}, "jobs.0.max_attempts"),
        ({"jobs": [{"type": "report", "phases": ["a", "a"]}]}, "jobs.0.phases"),
        ({"jobs": [{"type": "report", "idempotency_key": ""}]}, "jobs.0.idempotency_key"),
        ({"jobs": [{"type": "report", "colour": "red"}]}, "jobs.0.colour"),
        ({"jobs": [{"type": "report"}, {"type": "report", "payload": {"s": "a\u0000b"}}]}, "jobs.1.payload.s"),
        ({"jobs": [{"type": "report", "payload": 2**64}]}, "jobs.0.payload"),
        ({"jobs": [{"type": "report", "idempotency_key": "k"}, {"type": "x", "idempotency_key": "k"}]}, "jobs"),
        ({"jobs": {"type": "report"}}, "jobs"),
        ({}, "jobs"),
    ],
)
async def test_a_bad_job_answers_400_naming_it_and_writes_nothing(client, unchanged, body, field):
    async with unchanged():
        fields = await bad_fields(await client.post("/jobs/batch", json=body))

    assert field in fields


async def test_a_batch_refuses_an_idempotency_key_header(client, unchanged):
    async with unchanged():
        resp = await client.post("/jobs/batch", json={"jobs": [{"type": "report"}]}, headers={"Idempotency-Key": "k"})
        assert await bad_fields(resp) == ["Idempotency-Key"]


async def test_a_payload_its_registered_type_refuses_is_named_within_the_batch(client, unchanged):
    schema = {"type": "object", "properties": {"pages": {"type": "integer"}}, "required": ["pages"]}
    await ok(await client.put("/types/scan", json={"schema": schema}))

    async with unchanged():
        resp = await client.post(
            "/jobs/batch", json={"jobs": [{"type": "scan", "payload": {"pages": 3}}, {"type": "scan", "payload": {"pages": "x"}}]}
        )
        assert await bad_fields(resp) == ["jobs.1.payload.pages"]


async def test_the_batch_keeps_the_headers_metadata_for_every_job(client):
    headers = {"X-Actor": "importer", "X-Correlation-Id": "nightly-42"}

    await batch(client, [{"type": "report"}, {"type": "report"}], headers=headers)

    metas = [e["metadata"] for e in await all_events(client)]
    expected = [("api", "importer", "nightly-42")] * 2  # the open mode acts; X-Actor is whom for
    assert [(m["actor"], m["on_behalf_of"], m["correlation_id"]) for m in metas] == expected

