"""GET /jobs filtered on metadata (`metadata.<key>=<value>`) and on creation time, on both backends:
what matches, how it combines and pages, what is refused, and that the index stays right
through a rebuild and retention (eventlog/metadata.py)."""

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest

from jobledger.eventlog.sqlite import sqlite_path
from jobledger.projections import job_status
from tests.service.helpers import bad_fields, ok


async def _ids(client, headers=None, **params) -> list[str]:
    """Every listed job id, newest first, following next_cursor (pages of 2: the cursor is exercised)."""
    ids, cursor = [], None
    while True:
        page = await ok(await client.get("/jobs", params={"limit": 2, **params, **({"cursor": cursor} if cursor else {})}, headers=headers))
        ids += [j["id"] for j in page["jobs"]]
        if (cursor := page["next_cursor"]) is None:
            return ids


@pytest.fixture
async def people(create_job):
    """Jobs of users 42 and 7, with documents, numbers and booleans among their metadata."""
    made = {}
    for name, metadata, job_type in [
        ("a", {"user_id": "42", "document": "d-7"}, "report"),
        ("b", {"user_id": "7", "document": "d-7"}, "report"),
        ("c", {"user_id": 42, "urgent": True}, "invoice"),
        ("d", {"user_id": "42", "document": "d-8", "urgent": False}, "report"),
        ("e", {"user_id": "420"}, "report"),
        ("f", {"user": {"id": "42"}, "tags": ["42"], "none": None}, "report"),
    ]:
        made[name] = (await create_job(type=job_type, metadata=metadata))["id"]
    return made


async def test_a_metadata_filter_lists_the_matching_jobs_newest_first(client, people):
    assert await _ids(client, **{"metadata.user_id": "42"}) == [people["d"], people["c"], people["a"]]
    assert await _ids(client, **{"metadata.user_id": "7"}) == [people["b"]]
    assert await _ids(client, **{"metadata.user_id": "4"}) == []


async def test_numbers_and_booleans_match_their_json_text_and_nested_values_never_match(client, people):
    assert await _ids(client, **{"metadata.urgent": "true"}) == [people["c"]]
    assert await _ids(client, **{"metadata.urgent": "false"}) == [people["d"]]
    for key, value in [("user", '{"id": "42"}'), ("user.id", "42"), ("tags", '["42"]'), ("none", "null"), ("tags", "42")]:
        assert await _ids(client, **{f"metadata.{key}": value}) == [], key


async def test_filters_combine_with_each_other_with_status_and_type(client, people, send):
    await ok(await send({"id": people["a"]}, "start"))

    assert await _ids(client, **{"metadata.user_id": "42", "metadata.document": "d-7"}) == [people["a"]]
    assert await _ids(client, **{"metadata.document": "d-7", "metadata.user_id": "42"}) == [people["a"]]
    assert await _ids(client, **{"metadata.user_id": "42", "status": "queued"}) == [people["d"], people["c"]]
    assert await _ids(client, **{"metadata.user_id": "42", "type": "invoice"}) == [people["c"]]
    assert await _ids(client, **{"metadata.user_id": "42", "status": "running", "type": "report"}) == [people["a"]]


async def test_the_listed_documents_are_those_get_answers(client, people):
    page = await ok(await client.get("/jobs", params={"metadata.user_id": "42"}))
    for doc in page["jobs"]:
        assert doc == await ok(await client.get(f"/jobs/{doc['id']}"))


async def test_created_after_and_before_bound_the_list_half_open(client, create_job):
    jobs = [await create_job() for _ in range(4)]
    ids, at = [j["id"] for j in jobs], [j["created_at"] for j in jobs]
    assert [datetime.fromisoformat(t) for t in at] == sorted({datetime.fromisoformat(t) for t in at})  # distinct, rising

    assert await _ids(client, created_after=at[1]) == [ids[3], ids[2], ids[1]]
    assert await _ids(client, created_before=at[2]) == [ids[1], ids[0]]
    assert await _ids(client, created_after=at[1], created_before=at[3]) == [ids[2], ids[1]]
    assert await _ids(client, created_after=at[2], created_before=at[2]) == []
    later = (datetime.fromisoformat(at[3]) + timedelta(hours=1)).isoformat()
    assert await _ids(client, created_after=later) == []
    # the same instant written in another offset is the same bound
    india = datetime.fromisoformat(at[1]).astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    assert india.endswith("+05:30")
    assert await _ids(client, created_after=india) == [ids[3], ids[2], ids[1]]


async def test_metadata_and_time_filters_combine(client, people):
    everyone = await _ids(client, **{"metadata.user_id": "42"})
    doc = await ok(await client.get(f"/jobs/{people['c']}"))
    assert await _ids(client, **{"metadata.user_id": "42", "created_before": doc["created_at"]}) == [people["a"]]
    assert await _ids(client, **{"metadata.user_id": "42", "created_after": doc["created_at"]}) == everyone[:2]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ([("metadata.user_id", "1"), ("metadata.user_id", "2")], "metadata.user_id"),
        ([("metadata.", "1")], "metadata."),
        ([("metadata." + "k" * 129, "1")], "metadata." + "k" * 128),
        ([("metadata.user_id", "v" * 257)], "metadata.user_id"),
        ([("metadata.user_id", "a\x00b")], "metadata.user_id"),
        ([("metadata.us\x00er", "1")], "metadata.us\x00er"),
        ([(f"metadata.k{n}", "1") for n in range(9)], "metadata.*"),
        ([("created_after", "yesterday")], "created_after"),
        ([("created_before", "2026-12-07T10:00:00")], "created_before"),
        ([("metadatax", "1")], "metadatax"),
    ],
)
async def test_bad_filters_are_refused_naming_the_parameter(client, people, unchanged, query, field):
    async with unchanged():
        assert field in await bad_fields(await client.get("/jobs", params=query))


async def test_bytes_that_are_not_utf8_match_nothing_and_are_no_500(client, people, unchanged):
    async with unchanged():  # the query string decodes them as U+FFFD
        for query in ("metadata.user_id=%ED%A0%80", "metadata.user_id=%FF", "metadata.%FF=42"):
            assert (await ok(await client.get(f"/jobs?{query}")))["jobs"] == [], query


async def test_the_longest_key_and_value_are_indexed_and_match(client, create_job):
    key, value = "k" * 128, "v" * 256
    job = await create_job(metadata={key: value, "x" * 129: "1", "long": "w" * 257})
    assert await _ids(client, **{f"metadata.{key}": value}) == [job["id"]]


async def test_the_index_survives_a_rebuild_of_the_status_table(client, store, people, create_job):
    before = await _ids(client, **{"metadata.user_id": "42"})
    await store.status.rebuild_status(job_status.Rebuild())
    assert await _ids(client, **{"metadata.user_id": "42"}) == before
    after = await create_job(metadata={"user_id": "42"})  # the new table's triggers index it
    assert await _ids(client, **{"metadata.user_id": "42"}) == [after["id"], *before]


async def test_retention_removes_a_pruned_jobs_index_rows(client, store, create_job, send, db_url):
    done = await create_job(metadata={"user_id": "42"})
    kept = await create_job(metadata={"user_id": "42"})
    await ok(await send(done, "cancel", {}))

    assert await store.status.prune_status(datetime.now(UTC) + timedelta(seconds=1)) == 1

    assert await _ids(client, **{"metadata.user_id": "42"}) == [kept["id"]]
    assert await index_rows(db_url) == 1


async def index_rows(db_url: str) -> int:
    """Rows in job_metadata, read straight from the database."""
    if db_url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(db_url)) as conn:
            return conn.execute("SELECT count(*) FROM job_metadata").fetchone()[0]
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM job_metadata")
    finally:
        await conn.close()
