"""Input the OpenAPI fuzzer (tests/api/test_schemathesis.py) sends or suggests: values past a
64-bit column, NUL characters, times that cannot be moved to UTC, header bytes that are not
UTF-8, odd path names. Each answers a 4xx naming the field, never a 500, and writes nothing."""

import asyncio

import pytest

from tests.service.helpers import bad_fields, ok

BIG = str(2**63)
NOT_UTC = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"]  # valid, but past datetime's range in UTC

JSON = {"Content-Type": "application/json"}  # raw bytes are sent as octet-stream otherwise (415)


@pytest.mark.parametrize(
    ("path", "field"),
    [("/jobs", "cursor"), ("/events", "after"), ("/jobs/{id}", "at_position"), ("/jobs/{id}/events", "after")],
)
async def test_a_query_integer_past_64_bits_answers_400(client, create_job, unchanged, path, field):
    job = await create_job()
    async with unchanged():
        assert await bad_fields(await client.get(path.format(id=job["id"]), params={field: BIG})) == [field]
    assert (await client.get(path.format(id=job["id"]), params={field: str(2**63 - 1)})).status in (200, 404)


@pytest.mark.parametrize(("path", "params"), [("/jobs", {"type": "re\x00port"}), ("/jobs", {"status": "queued\x00"})])
async def test_a_nul_character_in_a_query_answers_400(client, create_job, unchanged, path, params):
    await create_job()
    async with unchanged():
        assert await bad_fields(await client.get(path, params=params)) == list(params)


@pytest.mark.parametrize("name", ["re%00port", "x" * 201])
@pytest.mark.parametrize("method", ["PUT", "GET"])
async def test_a_job_type_name_breaking_the_name_rules_answers_400(client, unchanged, method, name):
    async with unchanged():
        resp = await client.request(method, f"/types/{name}", json={} if method == "PUT" else None)
        assert await bad_fields(resp) == ["name"]
    assert (await ok(await client.get("/types")))["types"] == []


@pytest.mark.parametrize("run_at", NOT_UTC)
async def test_a_run_at_outside_the_utc_range_answers_400(client, unchanged, run_at):
    async with unchanged():
        assert await bad_fields(await client.post("/jobs", json={"type": "report", "run_at": run_at})) == ["run_at"]


@pytest.mark.parametrize("when", NOT_UTC)
@pytest.mark.parametrize(("path", "field"), [("/jobs/{id}", "as_of"), ("/jobs/{id}/events", "until")])
async def test_a_query_time_outside_the_utc_range_answers_400(client, create_job, path, field, when):
    job = await create_job()
    assert await bad_fields(await client.get(path.format(id=job["id"]), params={field: when})) == [field]


async def _raw(client, method: str, path: str, header: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send one request with a raw header line (bytes no HTTP client library would send)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{client.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
    ).encode()
    writer.write(head + header + b"\r\n\r\n" + body)
    answer = await reader.read()
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("header", [b"X-Actor", b"X-Correlation-Id", b"Idempotency-Key"])
async def test_a_header_that_is_not_utf8_answers_400_naming_it(client, unchanged, header):
    async with unchanged():
        status, body = await _raw(client, "POST", "/jobs", header + b": caf\xe9", b'{"type": "report"}')
        assert status == 400 and header in body, body


async def test_a_command_header_that_is_not_utf8_answers_400(client, create_job, unchanged):
    job = await create_job()
    async with unchanged():
        status, body = await _raw(client, "POST", f"/jobs/{job['id']}/start", b"X-Actor: \xff\xfe")
        assert status == 400 and b"X-Actor" in body, body


@pytest.mark.parametrize("token", [b"Bearer caf\xe9", b"Bearer jl_\xff"])
async def test_an_authorization_header_that_is_not_ascii_answers_401(client, token):
    status, body = await _raw(client, "GET", "/jobs", b"Authorization: " + token)
    assert status == 401 and b"unauthorized" in body, body


@pytest.mark.parametrize("content_type", ["text/plain\r\nX-Evil: 1", "text", "a/b c", "t\x00/plain"])
async def test_an_artifact_content_type_that_is_not_a_media_type_answers_400(job_in, send, unchanged, content_type):
    job = await job_in("running")
    async with unchanged():
        resp = await send(job, "artifacts", {"name": "a", "data": "x", "content_type": content_type})
        assert await bad_fields(resp) == ["content_type"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"type": "report", "payload": {"x": 1e400}}', "payload.x"),
        (b'{"type": "report", "metadata": {"x": [-1e400]}}', "metadata.x.0"),
        (b'{"type": "report", "payload": NaN}', "payload"),
        (b'{"type": "report", "expires_in": Infinity}', "expires_in"),
    ],
)
async def test_a_number_json_cannot_carry_answers_400_instead_of_becoming_null(client, unchanged, raw, field):
    async with unchanged():
        assert await bad_fields(await client.post("/jobs", data=raw, headers=JSON)) == [field]


@pytest.mark.parametrize(("action", "raw", "field"), [
    ("progress", b'{"percent": 5, "details": {"eta": 1e400}}', "details.eta"),
    ("complete", b'{"result": -1e400}', "result"),
])
async def test_a_report_with_a_number_json_cannot_carry_answers_400(job_in, client, unchanged, action, raw, field):
    job = await job_in("running")
    async with unchanged():
        assert await bad_fields(await client.post(f"/jobs/{job['id']}/{action}", data=raw, headers=JSON)) == [field]


async def test_a_job_type_setting_that_is_not_finite_answers_400(client, unchanged):
    async with unchanged():
        assert await bad_fields(await client.put("/types/ocr", data=b'{"lease_seconds": NaN}', headers=JSON)) == ["lease_seconds"]
