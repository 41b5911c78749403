"""Job types: the registry over HTTP, payload schemas, defaults, strict mode, the types file, limits."""

import json

import pytest

from tests.workers.helpers import error_of, get_job, history, log_length, ok, seconds_between

SCHEMA = {
    "type": "object",
    "properties": {"n": {"type": "integer", "minimum": 1}, "title": {"type": "string"}},
    "required": ["n"],
    "additionalProperties": False,
}
FULL = {
    "schema": SCHEMA, "max_attempts": 4, "lease_seconds": 90, "expires_in": 3600,
    "max_running": 3, "retry_base_seconds": 2, "retry_max_seconds": 20, "phases": ["draw", "check"], "priority": 7,
}


ACTIVE = {"status": "active", "paused_reason": None}


async def test_put_then_get_a_type_and_the_list(client):
    put = await ok(await client.put("/types/render", json=FULL))
    await ok(await client.put("/types/archive", json={"max_attempts": 2}))

    got = await ok(await client.get("/types/render"))
    listed = await ok(await client.get("/types"))

    assert put == got == {"name": "render", **FULL, **ACTIVE, "version": 1}
    assert listed == {"types": [
        {"name": "archive", "max_attempts": 2, **ACTIVE, "version": 1}, {"name": "render", **FULL, **ACTIVE, "version": 1},
    ]}


async def test_put_replaces_a_types_settings(client):
    await ok(await client.put("/types/render", json=FULL))

    await ok(await client.put("/types/render", json={"max_attempts": 9}))

    assert await ok(await client.get("/types/render")) == {"name": "render", "max_attempts": 9, **ACTIVE, "version": 2}


async def test_an_unknown_type_is_404_type_not_found(client):
    details = await error_of(await client.get("/types/nope"), 404, "type_not_found")

    assert details == {"type": "nope"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"schema": {"type": "no-such-type"}}, "schema"),
        ({"schema": {"properties": {"n": {"minimum": "one"}}}}, "schema"),
        ({"schema": "object"}, "schema"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"lease_seconds": -1}, "lease_seconds"),
        ({"max_running": 0}, "max_running"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_an_invalid_type_is_400_naming_the_field_and_not_stored(client, body, field):
    details = await error_of(await client.put("/types/bad", json=body), 400, "invalid_request")

    assert field in [f["field"] for f in details["fields"]]
    await error_of(await client.get("/types/bad"), 404, "type_not_found")


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"n": "x"}, "payload.n"), ({"n": 0}, "payload.n"), ({}, "payload"), ({"n": 1, "extra": 1}, "payload"), (7, "payload")],
)
async def test_a_payload_the_schema_refuses_is_400_naming_the_field_and_writes_nothing(client, payload, field):
    await ok(await client.put("/types/render", json=FULL))
    before = await log_length(client)

    response = await client.post("/jobs", json={"type": "render", "payload": payload})

    details = await error_of(response, 400, "invalid_request")
    assert field in [f["field"] for f in details["fields"]]
    assert await log_length(client) == before
    assert (await ok(await client.get("/jobs")))["jobs"] == []


async def test_a_valid_payload_is_accepted(client):
    await ok(await client.put("/types/render", json=FULL))

    job = await ok(await client.post("/jobs", json={"type": "render", "payload": {"n": 3, "title": "Q3"}}), 201)

    assert job["payload"] == {"n": 3, "title": "Q3"}


async def test_the_types_defaults_apply_when_the_body_leaves_them_out(client):
    await ok(await client.put("/types/render", json=FULL))

    job = await ok(await client.post("/jobs", json={"type": "render", "payload": {"n": 1}}), 201)

    assert (job["max_attempts"], job["retry_base_seconds"], job["retry_max_seconds"]) == (4, 2, 20)
    assert seconds_between(job["created_at"], job["expires_at"]) == 3600
    assert [p["name"] for p in job["phases"]] == ["draw", "check"] and job["priority"] == 7


async def test_the_body_overrides_the_types_defaults(client):
    await ok(await client.put("/types/render", json=FULL))
    body = {"type": "render", "payload": {"n": 1}, "max_attempts": 1, "expires_in": 60, "retry_base_seconds": 0.5,
            "phases": ["only"], "priority": 0}

    job = await ok(await client.post("/jobs", json=body), 201)

    assert (job["max_attempts"], job["retry_base_seconds"], job["retry_max_seconds"]) == (1, 0.5, 20)
    assert seconds_between(job["created_at"], job["expires_at"]) == 60
    assert [p["name"] for p in job["phases"]] == ["only"] and job["priority"] == 0
    no_phases = await ok(await client.post("/jobs", json={**body, "phases": []}), 201)  # named, and empty
    assert no_phases["phases"] == []


async def test_a_types_defaults_reach_batch_creates_too(client):
    await ok(await client.put("/types/render", json=FULL))

    answer = await ok(await client.post("/jobs/batch", json={"jobs": [{"type": "render", "payload": {"n": 1}}]}), 201)

    [job] = answer["jobs"]
    assert [p["name"] for p in job["phases"]] == ["draw", "check"] and job["priority"] == 7


async def test_a_types_definition_has_a_history_and_the_same_definition_adds_nothing(client):
    await ok(await client.put("/types/render", json={"max_attempts": 2}))
    await ok(await client.put("/types/render", json={"max_attempts": 2}))  # the same again: nothing to record
    await ok(await client.put("/types/render", json={"max_attempts": 3, "phases": ["a"]}))

    answer = await ok(await client.get("/types/render/events"))

    assert [(e["type"], e["data"]["config"]) for e in answer["events"]] == [
        ("TypeDefined", {"max_attempts": 2}), ("TypeDefined", {"max_attempts": 3, "phases": ["a"]}),
    ]
    assert (await ok(await client.get("/types/render")))["version"] == 2


async def test_a_types_phases_must_be_unique_names(client):
    details = await error_of(await client.put("/types/render", json={"phases": ["a", "a"]}), 400, "invalid_request")

    assert details["fields"][0]["field"] == "phases"


async def test_a_claim_of_one_type_takes_that_types_lease_seconds(client, create_job):
    await ok(await client.put("/types/render", json=FULL))
    await create_job(type="render", payload={"n": 1})

    [job] = (await ok(await client.post("/workers/claim", json={"worker_id": "w", "types": ["render"]})))["jobs"]

    started = (await history(client, job))[-1]
    assert seconds_between(started["recorded_at"], job["lease_expires_at"]) == pytest.approx(90, abs=0.01)


async def test_max_running_is_enforced_at_claim(client, create_job, claim, send):
    await ok(await client.put("/types/gpu", json={"max_running": 2}))
    for _ in range(4):
        await create_job(type="gpu")
    other = await create_job(type="cpu")

    first = await claim(limit=10)
    assert sorted(j["type"] for j in first) == ["cpu", "gpu", "gpu"]
    assert await claim(types=["gpu"], limit=10) == []

    done = next(j for j in first if j["type"] == "gpu")
    await ok(await send(done, "complete", {"lease_token": done["lease_token"]}))

    assert [j["type"] for j in await claim(limit=10)] == ["gpu"]
    assert (await get_job(client, other))["status"] == "running"


async def test_a_type_at_its_limit_does_not_crowd_other_types_out_of_a_claim(client, create_job, claim):
    await ok(await client.put("/types/gpu", json={"max_running": 1}))
    for _ in range(10):
        await create_job(type="gpu")
    for _ in range(5):
        await create_job(type="cpu")

    docs = await claim(limit=10)

    assert sorted(d["type"] for d in docs) == ["cpu"] * 5 + ["gpu"]


async def test_strict_mode_refuses_unregistered_types_with_400_on_type(service_with):
    client = await service_with(strict_types=True)
    await ok(await client.put("/types/known", json={}))
    before = await log_length(client)  # the type's definition: one event of its own stream

    details = await error_of(await client.post("/jobs", json={"type": "unknown"}), 400, "invalid_request")

    assert [f["field"] for f in details["fields"]] == ["type"]
    assert await log_length(client) == before == 1
    await ok(await client.post("/jobs", json={"type": "known"}), 201)


async def test_without_strict_mode_unregistered_types_are_accepted(client):
    await ok(await client.post("/jobs", json={"type": "anything"}), 201)


async def test_a_types_file_registers_its_types_at_start(service_with, tmp_path):
    path = tmp_path / "types.json"
    path.write_text(json.dumps({"render": FULL, "mail": {"max_attempts": 7}}))

    client = await service_with(types_file=str(path))

    listed = await ok(await client.get("/types"))
    assert listed == {"types": [
        {"name": "mail", "max_attempts": 7, **ACTIVE, "version": 1}, {"name": "render", **FULL, **ACTIVE, "version": 1},
    ]}
    await error_of(await client.post("/jobs", json={"type": "render", "payload": {"n": "x"}}), 400, "invalid_request")
    job = await ok(await client.post("/jobs", json={"type": "mail"}), 201)
    assert job["max_attempts"] == 7
    again = await service_with(types_file=str(path))  # a restart with the same file records nothing new
    assert (await ok(await again.get("/types/mail")))["version"] == 1
