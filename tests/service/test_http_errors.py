"""Unknown jobs, unknown routes and methods, and bodies over the size limit: JSON errors that write nothing."""

import uuid

import pytest

from tests.service.helpers import error_of, ok

ENDPOINTS = [
    ("GET", "", None),
    ("GET", "/events", None),
    ("DELETE", "", None),
    ("POST", "/cancel", None),
    ("POST", "/start", None),
    ("POST", "/progress", {"percent": 1}),
    ("POST", "/phases/research/start", None),
    ("POST", "/phases/research/complete", None),
    ("POST", "/phases/research/fail", {"error": "x"}),
    ("POST", "/complete", None),
    ("POST", "/fail", {"error": "x"}),
]
MALFORMED_IDS = ["not-a-uuid", "123", "0000000-0000-0000-0000-000000000000", "%20"]


@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
async def test_unknown_job_answers_404(client, create_job, unchanged, method, suffix, body):
    await create_job()

    async with unchanged():
        resp = await client.request(method, f"/jobs/{uuid.uuid4()}{suffix}", json=body)
        await error_of(resp, 404, "job_not_found")


@pytest.mark.parametrize("job_id", MALFORMED_IDS)
@pytest.mark.parametrize(("method", "suffix", "body"), ENDPOINTS)
async def test_malformed_job_id_answers_404(client, create_job, unchanged, method, suffix, body, job_id):
    await create_job()

    async with unchanged():
        await error_of(await client.request(method, f"/jobs/{job_id}{suffix}", json=body), 404, "job_not_found")


async def test_the_job_id_may_be_written_without_dashes(client, create_job):
    job = await create_job()

    assert await ok(await client.get(f"/jobs/{uuid.UUID(job['id']).hex}")) == job


@pytest.mark.parametrize("path", ["/nope", "/jobs/x/y/z", "/jobs/00000000-0000-0000-0000-000000000000/restart"])
async def test_unknown_route_answers_404_in_json(client, path):
    await error_of(await client.post(path, json={}), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/jobs/{id}"), ("PATCH", "/jobs/{id}"), ("DELETE", "/jobs"), ("GET", "/jobs/{id}/start")],
)
async def test_wrong_method_answers_405_in_json(client, create_job, unchanged, method, path):
    job = await create_job()

    async with unchanged():
        resp = await client.request(method, path.format(id=job["id"]), json={"type": "report"})
        await error_of(resp, 405, "method_not_allowed")

    assert resp.headers["Allow"]


@pytest.mark.parametrize("path", ["/jobs/batch", "/jobs/cancel", "/jobs/retry"])
@pytest.mark.parametrize("method", ["GET", "DELETE", "OPTIONS"])
async def test_the_many_job_routes_allow_post_only_not_a_job_of_that_name(client, create_job, unchanged, method, path):
    await create_job()
    async with unchanged():
        resp = await client.request(method, path)
        await error_of(resp, 405, "method_not_allowed")
    assert set(resp.headers["Allow"].split(",")) == {"POST"}


def _create_body(size: int) -> bytes:
    """A valid create body of exactly `size` bytes."""
    head, tail = b'{"type":"report","payload":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.fixture
async def small_client(serve, settings):
    return await serve(settings.model_copy(update={"max_body_bytes": 1024}))


async def test_body_over_a_configured_limit_answers_413(small_client):
    before = await ok(await small_client.get("/events"))

    resp = await small_client.post("/jobs", data=_create_body(1025), headers={"Content-Type": "application/json"})

    assert (await error_of(resp, 413, "payload_too_large")) == {"limit_bytes": 1024}
    assert await ok(await small_client.get("/events")) == before


async def test_body_at_a_configured_limit_is_accepted(small_client):
    resp = await small_client.post("/jobs", data=_create_body(1024), headers={"Content-Type": "application/json"})

    assert len((await ok(resp, 201))["payload"]) == 1024 - len(b'{"type":"report","payload":""}')


async def test_command_body_over_a_configured_limit_answers_413(small_client):
    job = await ok(await small_client.post("/jobs", json={"type": "report"}), 201)
    await ok(await small_client.post(f"/jobs/{job['id']}/start"))
    body = {"percent": 5, "message": "m" * 900, "details": "d" * 200}

    resp = await small_client.post(f"/jobs/{job['id']}/progress", json=body)

    await error_of(resp, 413, "payload_too_large")
    assert (await ok(await small_client.get(f"/jobs/{job['id']}")))["version"] == 2


async def test_default_limit_is_one_mebibyte(client, unchanged):
    async with unchanged():
        resp = await client.post("/jobs", data=_create_body(2**20 + 1), headers={"Content-Type": "application/json"})
        assert (await error_of(resp, 413, "payload_too_large")) == {"limit_bytes": 2**20}

    resp = await client.post("/jobs", data=_create_body(2**20), headers={"Content-Type": "application/json"})
    assert (await ok(resp, 201))["type"] == "report"
