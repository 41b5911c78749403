"""GET /jobs: filters and keyset pagination, newest first."""

import pytest

from tests.service.helpers import error_of, ok


async def _page(client, **params) -> dict:
    return await ok(await client.get("/jobs", params=params))


async def _walk(client, cursor: str | None = None, **params) -> list[list[str]]:
    """The ids of every page from `cursor` on, following next_cursor to the end."""
    pages = []
    while True:
        page = await _page(client, **params, **({"cursor": cursor} if cursor else {}))
        pages.append([j["id"] for j in page["jobs"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


async def test_an_empty_service_lists_no_jobs(client):
    assert await _page(client) == {"jobs": [], "next_cursor": None}


async def test_lists_newest_first_with_the_documents_get_answers(client, create_job, send):
    jobs = [await create_job(payload={"n": n}) for n in range(3)]
    await ok(await send(jobs[0], "start"))

    listed = (await _page(client))["jobs"]

    assert [j["id"] for j in listed] == [j["id"] for j in reversed(jobs)]
    for doc in listed:
        assert doc == await ok(await client.get(f"/jobs/{doc['id']}"))
    assert listed[-1]["status"] == "running"


async def test_walking_all_pages_yields_every_job_once(client, create_job):
    ids = [(await create_job())["id"] for _ in range(7)]

    pages = await _walk(client, limit=3)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == ids[::-1]


async def test_a_full_last_page_has_no_next_cursor(client, create_job):
    for _ in range(4):
        await create_job()

    pages = await _walk(client, limit=2)

    assert [len(p) for p in pages] == [2, 2]


async def test_pages_do_not_shift_when_jobs_are_created_or_changed_meanwhile(client, create_job, send):
    jobs = [await create_job() for _ in range(5)]
    first = await _page(client, limit=2)

    await create_job()
    await ok(await send(jobs[0], "start"))
    rest = await _walk(client, limit=2, cursor=first["next_cursor"])

    seen = [j["id"] for j in first["jobs"]] + [i for p in rest for i in p]
    assert seen == [j["id"] for j in reversed(jobs)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "queued"}, ["r2", "i1"]),
        ({"status": "running"}, ["r1"]),
        ({"type": "report"}, ["r2", "r1"]),
        ({"type": "invoice", "status": "queued"}, ["i1"]),
        ({"status": "completed"}, []),
        ({"type": "nothing"}, []),
    ],
)
async def test_filters_by_status_and_type(client, create_job, send, params, expected):
    jobs = {name: await create_job(type=kind) for name, kind in [("i1", "invoice"), ("r1", "report"), ("r2", "report")]}
    await ok(await send(jobs["r1"], "start"))

    listed = (await _page(client, **params))["jobs"]

    assert [j["id"] for j in listed] == [jobs[name]["id"] for name in expected]


async def test_filtered_pages_walk_every_match_once(client, create_job, send):
    jobs = [await create_job(type="report" if n % 2 else "invoice") for n in range(9)]
    reports = [j["id"] for j in jobs if j["type"] == "report"]

    pages = await _walk(client, type="report", limit=3)

    assert [len(p) for p in pages] == [3, 1]
    assert [i for p in pages for i in p] == reports[::-1]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"status": "bogus"}, "status"),
        ({"status": ""}, "status"),
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "0"}, "cursor"),
        ({"cursor": "1.5"}, "cursor"),
        ({"type": ""}, "type"),
        ({"sort": "oldest"}, "sort"),
    ],
)
async def test_bad_query_parameters_answer_400_naming_the_parameter(client, create_job, params, field):
    await create_job()

    details = await error_of(await client.get("/jobs", params=params), 400, "invalid_request")

    assert [f["field"] for f in details["fields"]] == [field]
    assert all(f["reason"] for f in details["fields"])


async def test_limit_bounds_are_accepted(client, create_job):
    await create_job()

    assert len((await _page(client, limit=1))["jobs"]) == 1
    assert len((await _page(client, limit=500))["jobs"]) == 1
