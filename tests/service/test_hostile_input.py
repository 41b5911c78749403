"""Input the OpenAPI fuzzer (tests/api/test_schemathesis.py) sends or suggests: values past a
64-bit column. Each answers a 4xx naming the field, never a 500, and writes nothing."""

import pytest

from tests.service.helpers import error_of

BIG = str(2**63)


async def _fields(resp) -> list[str]:
    details = await error_of(resp, 400, "invalid_request")
    assert all(isinstance(f["reason"], str) and f["reason"] for f in details["fields"])
    return [f["field"] for f in details["fields"]]


@pytest.mark.parametrize(
    ("path", "field"),
    [("/jobs", "cursor"), ("/events", "after"), ("/jobs/{id}", "at_position"), ("/jobs/{id}/events", "after")],
)
async def test_a_query_integer_past_64_bits_answers_400(client, create_job, unchanged, path, field):
    job = await create_job()
    async with unchanged():
        assert await _fields(await client.get(path.format(id=job["id"]), params={field: BIG})) == [field]
    assert (await client.get(path.format(id=job["id"]), params={field: str(2**63 - 1)})).status in (200, 404)
