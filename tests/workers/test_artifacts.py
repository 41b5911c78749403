"""Artifacts: added under the lease, listed, and read back as JSON or as text."""

from urllib.parse import quote

import pytest

from tests.workers.helpers import error_of, history, ok


async def _add(send, job: dict, **body):
    return await send(job, "artifacts", {"lease_token": job["lease_token"], **body})


async def _listing(client, job: dict) -> list[dict]:
    return (await ok(await client.get(f"/jobs/{job['id']}/artifacts")))["artifacts"]


async def test_adding_an_artifact_records_artifact_added_and_lists_it(client, claimed, send):
    job = await claimed()

    doc = await ok(await _add(send, job, name="summary", data={"pages": 12, "tags": ["a", "b"]}))

    added = (await history(client, job))[-1]
    [listed] = await _listing(client, job)
    assert added["type"] == "ArtifactAdded"
    assert (added["data"]["name"], added["data"]["content_type"]) == ("summary", "application/json")
    assert added["data"]["data"] == {"pages": 12, "tags": ["a", "b"]}
    assert set(listed) == {"name", "content_type", "size", "added_at", "version"}
    assert (listed["name"], listed["content_type"], listed["version"]) == ("summary", "application/json", added["version"])
    assert listed["added_at"] == added["recorded_at"]
    assert doc["artifacts"] == [listed]


@pytest.mark.parametrize("data", [{"pages": 12}, [1, 2, 3], "a JSON string", 42, None])
async def test_json_data_comes_back_as_json(client, claimed, send, data):
    job = await claimed()
    await ok(await _add(send, job, name="out", data=data))

    response = await client.get(f"/jobs/{job['id']}/artifacts/out")

    assert response.status == 200 and response.content_type == "application/json"
    assert await response.json() == data


@pytest.mark.parametrize("content_type", ["text/plain", "text/csv", "text/markdown"])
async def test_text_comes_back_as_plain_text_and_is_listed_with_its_content_type(client, claimed, send, content_type):
    """Served as text/plain, so that no browser renders it (tests/security/test_artifacts_xss.py)."""
    job = await claimed()
    text = "name,total\nÅsa,3\n"
    await ok(await _add(send, job, name="table", content_type=content_type, data=text))

    response = await client.get(f"/jobs/{job['id']}/artifacts/table")

    assert response.status == 200 and response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.text() == text
    [listed] = await _listing(client, job)
    assert (listed["content_type"], listed["size"]) == (content_type, len(text.encode()))


async def test_the_size_of_json_data_depends_on_the_data_alone(client, claimed, send):
    job = await claimed()
    data = {"rows": list(range(50))}

    await ok(await _add(send, job, name="a", data=data))
    await ok(await _add(send, job, name="a-much-longer-artifact-name", data=data))

    sizes = [a["size"] for a in await _listing(client, job)]
    assert sizes[0] == sizes[1]
    assert 0 < sizes[0] <= len(str(data))


async def test_an_artifact_added_again_under_its_name_replaces_the_listed_one(client, claimed, send):
    job = await claimed()
    await ok(await _add(send, job, name="draft", data={"v": 1}))
    await ok(await _add(send, job, name="notes", content_type="text/plain", data="hi"))

    await ok(await _add(send, job, name="draft", data={"v": 2}))

    listed = await _listing(client, job)
    assert [a["name"] for a in listed] == ["notes", "draft"]
    assert await ok(await client.get(f"/jobs/{job['id']}/artifacts/draft")) == {"v": 2}
    assert [e["data"]["data"] for e in await history(client, job) if e["type"] == "ArtifactAdded"] == [{"v": 1}, "hi", {"v": 2}]


@pytest.mark.parametrize("name", ["reports/q3.csv", "résumé v2.txt", "50%"])
async def test_an_artifact_is_read_back_by_its_url_encoded_name(client, claimed, send, name):
    job = await claimed()
    await ok(await _add(send, job, name=name, content_type="text/plain", data="content"))

    response = await client.get(f"/jobs/{job['id']}/artifacts/{quote(name, safe='')}")

    assert (response.status, await response.text()) == (200, "content")


async def test_an_unknown_artifact_is_404_artifact_not_found(client, claimed):
    job = await claimed()

    await error_of(await client.get(f"/jobs/{job['id']}/artifacts/missing"), 404, "artifact_not_found")


async def test_a_tracked_job_adds_artifacts_without_a_token(client, create_job, send):
    job = await create_job()
    await ok(await send(job, "start"))

    await ok(await send(job, "artifacts", {"name": "log", "content_type": "text/plain", "data": "started"}))

    assert (await client.get(f"/jobs/{job['id']}/artifacts/log")).status == 200


async def test_an_artifact_on_a_queued_job_is_refused(client, create_job, send, log_unchanged):
    job = await create_job()

    async with log_unchanged():
        await error_of(await send(job, "artifacts", {"name": "x", "data": 1}), 409, "illegal_transition")

    assert await _listing(client, job) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": 1}, "name"),
        ({"name": "", "data": 1}, "name"),
        ({"name": "t", "content_type": "text/plain", "data": {"not": "text"}}, "data"),
        ({"name": "t", "data": 1, "size": 5}, "size"),
    ],
)
async def test_a_bad_artifact_is_400_naming_the_field(claimed, send, log_unchanged, body, field):
    job = await claimed()

    async with log_unchanged():
        details = await error_of(await send(job, "artifacts", {**body, "lease_token": job["lease_token"]}), 400, "invalid_request")

    assert field in [f["field"] for f in details["fields"]]


async def test_artifacts_of_an_unknown_job_are_404(client):
    missing = "00000000-0000-0000-0000-000000000000"

    await error_of(await client.get(f"/jobs/{missing}/artifacts"), 404, "job_not_found")
    await error_of(await client.get(f"/jobs/{missing}/artifacts/x"), 404, "job_not_found")
