"""Bad bodies answer 400 naming each bad field, and write nothing; well-formed ones that break a rule of
the job's status answer 409 naming it."""

import pytest

from tests.service.helpers import bad_fields, error_of, ok

INVALID_JSON = [b'{"type": ', b"{'type': 'report'}", b"\xff\xfe", b'{"type": "report"} trailing']
NOT_AN_OBJECT = [b"[]", b'"report"', b"42", b"null", b"true"]
NOT_AN_OBJECT_SAMPLE = [INVALID_JSON[0], INVALID_JSON[2], b"[]", b"null"]

CREATE = [
    ({}, ["type"]),
    ({"type": ""}, ["type"]),
    ({"type": "x" * 201}, ["type"]),
    ({"type": 5}, ["type"]),
    ({"type": None}, ["type"]),
    ({"type": "r", "metadata": ["a"]}, ["metadata"]),
    ({"type": "r", "phases": "research"}, ["phases"]),
    ({"type": "r", "phases": ["a", "a"]}, ["phases"]),
    ({"type": "r", "phases": ["a", ""]}, ["phases.1"]),
    ({"type": "r", "phases": ["a", 3]}, ["phases.1"]),
    ({"type": "r", "phases": [str(n) for n in range(101)]}, ["phases"]),
    ({"type": "r", "priority": "high"}, ["priority"]),
    ({"type": "r", "priority": 2**31}, ["priority"]),
    ({"type": "r", "max_attempts": 0}, ["max_attempts"]),
    ({"type": "r", "max_attempts": 1.5}, ["max_attempts"]),
    ({"type": "r", "max_attempts": 1001}, ["max_attempts"]),
    ({"type": "r", "run_at": "tomorrow"}, ["run_at"]),
    ({"type": "r", "run_at": "2030-01-01T00:00:00"}, ["run_at"]),  # no time zone
    ({"type": "r", "expires_in": 0}, ["expires_in"]),
    ({"type": "r", "expires_in": -5}, ["expires_in"]),
    ({"type": "r", "expires_in": 365 * 24 * 3600 + 1}, ["expires_in"]),
    ({"type": "r", "expires_in": "soon"}, ["expires_in"]),
    ({"type": "r", "colour": "red"}, ["colour"]),
    ({"type": "r", "message": 7}, ["message"]),
    ({"type": "r", "message": "m" * 10_001}, ["message"]),
    ({"type": "r", "message": {"text": "waiting"}}, ["message"]),
    ({"priority": "high", "max_attempts": 0}, ["type", "priority", "max_attempts"]),
]

COMMANDS = [
    ("queued", "start", {"force": True}, ["force"]),
    ("running", "progress", {"percent": -0.1}, ["percent"]),
    ("running", "progress", {"percent": 100.01}, ["percent"]),
    ("running", "progress", {"percent": "fifty"}, ["percent"]),
    ("running", "progress", {"percent": [50]}, ["percent"]),
    ("running", "progress", {"percent": 5, "message": 7}, ["message"]),
    ("running", "progress", {"percent": 5, "message": "m" * 10_001}, ["message"]),
    ("running", "progress", {"percent": 5, "eta": 30}, ["eta"]),
    ("running", "progress", {"percent": 500, "note": "x"}, ["percent", "note"]),
    ("running", "phases/research/start", {"now": True}, ["now"]),
    ("queued", "progress", {"message": 7}, ["message"]),
    ("queued", "progress", {"message": "m" * 10_001}, ["message"]),
    ("phase_running", "phases/research/complete", {"confidence": 1.5}, ["confidence"]),
    ("phase_running", "phases/research/complete", {"confidence": -0.1}, ["confidence"]),
    ("phase_running", "phases/research/complete", {"confidence": "high"}, ["confidence"]),
    ("phase_running", "phases/research/complete", {"score": 1}, ["score"]),
    ("phase_running", "phases/research/fail", {}, ["error"]),
    ("phase_running", "phases/research/fail", {"error": ""}, ["error"]),
    ("phase_running", "phases/research/fail", {"error": None}, ["error"]),
    ("running", "complete", {"outcome": 1}, ["outcome"]),
    ("running", "fail", {}, ["error"]),
    ("running", "fail", {"error": ""}, ["error"]),
    ("running", "fail", {"error": "x", "retry": True}, ["retry"]),
    ("running", "cancel", {"reason": 5}, ["reason"]),
    ("running", "cancel", {"why": "x"}, ["why"]),
]
ACTIONS = sorted({(state, action) for state, action, _, _ in COMMANDS})

# Well-formed bodies that break a rule of the job's status: 409 illegal_transition, its message
# naming the field (a running job's progress needs a percent; a queued job's is a message only).
STATUS_RULES = [
    ("running", {}, "percent"),
    ("running", {"percent": None}, "percent"),
    ("running", {"message": "no percent"}, "percent"),
    ("queued", {}, "message"),
    ("queued", {"percent": None}, "message"),
    ("queued", {"details": {"ahead": 3}}, "message"),
    ("queued", {"percent": 5, "message": "waiting"}, "percent"),
]


@pytest.mark.parametrize(("body", "fields"), CREATE)
async def test_create_with_bad_fields_answers_400(client, unchanged, body, fields):
    async with unchanged():
        assert await bad_fields(await client.post("/jobs", json=body)) == fields


@pytest.mark.parametrize("raw", INVALID_JSON + NOT_AN_OBJECT)
async def test_create_with_a_body_that_is_not_a_json_object_answers_400(client, unchanged, raw):
    async with unchanged():
        resp = await client.post("/jobs", data=raw, headers={"Content-Type": "application/json"})
        assert await bad_fields(resp) == ["body"]


async def test_create_with_an_empty_body_asks_for_the_type(client, unchanged):
    async with unchanged():
        assert await bad_fields(await client.post("/jobs")) == ["type"]


@pytest.mark.parametrize(("state", "action", "body", "fields"), COMMANDS)
async def test_command_with_bad_fields_answers_400(job_in, send, unchanged, state, action, body, fields):
    job = await job_in(state)

    async with unchanged():
        assert await bad_fields(await send(job, action, body)) == fields


@pytest.mark.parametrize(("state", "body", "field"), STATUS_RULES)
async def test_progress_that_breaks_its_status_rule_answers_409_naming_the_field(job_in, send, unchanged, state, body, field):
    job = await job_in(state)

    async with unchanged():
        answer = await send(job, "progress", body)
        details = await error_of(answer, 409, "illegal_transition")
    assert (details["status"], details["transition"], details["version"]) == (state, "progress", job["version"])
    assert (await answer.json())["error"]["message"].startswith(f"{field}: ")


@pytest.mark.parametrize("raw", NOT_AN_OBJECT_SAMPLE)
@pytest.mark.parametrize(("state", "action"), ACTIONS)
async def test_command_with_a_body_that_is_not_a_json_object_answers_400(client, job_in, unchanged, state, action, raw):
    job = await job_in(state)

    async with unchanged():
        resp = await client.post(f"/jobs/{job['id']}/{action}", data=raw, headers={"Content-Type": "application/json"})
        assert await bad_fields(resp) == ["body"]


@pytest.mark.parametrize(("state", "action"), ACTIONS)
async def test_the_same_command_with_a_good_body_succeeds(job_in, send, state, action):
    job = await job_in(state)
    good = {"progress": {"percent": 5}, "phases/research/fail": {"error": "x"}, "fail": {"error": "x"}}
    good_queued = {"progress": {"message": "waiting for a slot"}}
    body = good_queued.get(action) if state == "queued" else good.get(action)

    assert (await ok(await send(job, action, body)))["version"] == job["version"] + 1


@pytest.mark.parametrize("params", [{"after": "-1"}, {"after": "x"}, {"limit": "0"}, {"limit": "5001"}, {"from": "1"}])
async def test_events_with_bad_query_parameters_answer_400(client, create_job, params):
    await create_job()

    assert await bad_fields(await client.get("/events", params=params)) == list(params)
