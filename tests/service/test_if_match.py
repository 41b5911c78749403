"""If-Match: optimistic concurrency on every command."""

import pytest

from tests.service.helpers import error_of, ok

COMMANDS = [
    ("queued", "POST", "start", None),
    ("running", "POST", "progress", {"percent": 5}),
    ("running", "POST", "phases/research/start", None),
    ("phase_running", "POST", "phases/research/complete", {"confidence": 0.5}),
    ("phase_running", "POST", "phases/research/fail", {"error": "x"}),
    ("running", "POST", "complete", None),
    ("running", "POST", "fail", {"error": "x"}),
    ("running", "POST", "cancel", None),
    ("running", "DELETE", "", None),
]
BAD_IF_MATCH = ["abc", "", "-1", "1.5", "2 3", '"', "0x2", "²", "٢"]


def _request(client, job, method, action, body, if_match: str):
    path = f"/jobs/{job['id']}" + (f"/{action}" if action else "")
    return client.request(method, path, json=body, headers={"If-Match": if_match})


@pytest.mark.parametrize(("state", "method", "action", "body"), COMMANDS)
async def test_current_version_is_accepted(client, job_in, state, method, action, body):
    job = await job_in(state)

    resp = await _request(client, job, method, action, body, f'"{job["version"]}"')

    assert (await ok(resp))["version"] == job["version"] + 1
    assert resp.headers["ETag"] == f'"{job["version"] + 1}"'


@pytest.mark.parametrize(("state", "method", "action", "body"), COMMANDS)
async def test_stale_version_answers_409_with_the_current_one(client, job_in, unchanged, state, method, action, body):
    job = await job_in(state)

    async with unchanged():
        resp = await _request(client, job, method, action, body, str(job["version"] - 1))
        details = await error_of(resp, 409, "version_conflict")

    assert details["job_id"] == job["id"]
    assert details["expected_version"] == job["version"] - 1
    assert details["current_version"] == job["version"]
    assert details["status"] == job["status"]


@pytest.mark.parametrize("if_match", ["2", '"2"', 'W/"2"', ' "2" '])
async def test_version_forms_accepted_by_if_match(job_in, send, if_match):
    job = await job_in("running")

    assert (await ok(await send(job, "progress", {"percent": 1}, {"If-Match": if_match})))["version"] == 3


async def test_a_future_version_is_a_conflict_too(job_in, send, unchanged):
    job = await job_in("running")

    async with unchanged():
        details = await error_of(
            await send(job, "progress", {"percent": 1}, {"If-Match": "9"}), 409, "version_conflict"
        )

    assert (details["expected_version"], details["current_version"]) == (9, 2)


@pytest.mark.parametrize("if_match", BAD_IF_MATCH)
async def test_malformed_if_match_answers_400(job_in, send, unchanged, if_match):
    job = await job_in("running")

    async with unchanged():
        resp = await send(job, "progress", {"percent": 1}, {"If-Match": if_match})
        details = await error_of(resp, 400, "invalid_request")

    assert [f["field"] for f in details["fields"]] == ["If-Match"]


async def test_etag_of_one_answer_is_the_if_match_of_the_next(job_in, send):
    job = await job_in("running")
    first = await send(job, "progress", {"percent": 1})

    second = await send(job, "progress", {"percent": 2}, {"If-Match": first.headers["ETag"]})

    assert (await ok(second))["version"] == 4
    await error_of(
        await send(job, "progress", {"percent": 3}, {"If-Match": first.headers["ETag"]}), 409, "version_conflict"
    )
