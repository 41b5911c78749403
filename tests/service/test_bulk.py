"""POST /jobs/cancel and POST /jobs/retry: a filter, a dry run, each job's own event recorded with
the actor and the filter, pages of jobs, resuming with `as_of`, refusals; on both backends."""

from datetime import datetime, timedelta

import pytest

from jobledger.application import bulk
from tests.security.conftest import bearer, make_key, secure, secure_settings  # noqa: F401 - fixtures
from tests.service.helpers import bad_fields, ok


async def _statuses(client, ids) -> list[str]:
    return [(await ok(await client.get(f"/jobs/{i}")))["status"] for i in ids]


async def _failed(client, create_job, send, **body) -> dict:
    job = await create_job(**body)
    await ok(await send(job, "start"))
    return await ok(await send(job, "fail", {"error": {"message": "broken"}}))


async def test_cancel_by_metadata_cancels_exactly_the_matching_unfinished_jobs(client, create_job, send, db_url):
    ours = [await create_job(metadata={"user_id": "42"}) for _ in range(3)]
    await ok(await send(ours[0], "start"))
    done = await create_job(metadata={"user_id": "42"})
    await ok(await send(done, "cancel", {}))
    theirs = await create_job(metadata={"user_id": "7"})

    answer = await ok(await client.post("/jobs/cancel", json={"filter": {"metadata": {"user_id": "42"}}, "reason": "user left"}))

    assert (answer["action"], answer["dry_run"], answer["selected"], answer["acted"]) == ("cancel", False, 3, 3)
    assert await _statuses(client, [j["id"] for j in ours]) == ["cancelled"] * 3
    assert await _statuses(client, [theirs["id"]]) == ["queued"]
    history = (await ok(await client.get(f"/jobs/{ours[1]['id']}/events")))["events"]
    assert [e["type"] for e in history] == ["JobCreated", "JobCancelled"]
    assert history[-1]["data"]["reason"] == "user left"
    recorded = history[-1]["metadata"]["bulk"]
    assert recorded == {"action": "cancel", "as_of": answer["as_of"], "filter": {"metadata": {"user_id": "42"}}}
    assert history[-1]["metadata"]["actor"]
    done_history = (await ok(await client.get(f"/jobs/{done['id']}/events")))["events"]
    assert len(done_history) == 2  # already cancelled: not acted on again


async def test_a_dry_run_counts_and_writes_nothing(client, create_job, unchanged):
    for n in range(4):
        await create_job(type="ocr" if n % 2 else "report")
    async with unchanged():
        answer = await ok(await client.post("/jobs/cancel", json={"filter": {"type": "ocr"}, "dry_run": True}))
    assert (answer["selected"], answer["acted"], answer["dry_run"]) == (2, 0, True)


async def test_retry_takes_the_failed_and_expired_jobs_a_filter_selects(client, create_job, send):
    failed = [await _failed(client, create_job, send, type="ocr") for _ in range(2)]
    other = await _failed(client, create_job, send, type="report")
    queued = await create_job(type="ocr")

    answer = await ok(await client.post("/jobs/retry", json={"filter": {"type": "ocr"}}))

    assert (answer["selected"], answer["acted"]) == (2, 2)
    assert await _statuses(client, [j["id"] for j in failed]) == ["queued", "queued"]
    assert await _statuses(client, [other["id"], queued["id"]]) == ["failed", "queued"]


async def test_pages_of_jobs_are_all_acted_on_once(client, monkeypatch):
    monkeypatch.setattr(bulk, "PAGE", 7)  # several pages of a small selection
    ids = []
    for _ in range(3):
        answer = await ok(await client.post("/jobs/batch", json={"jobs": [{"type": "ocr"} for _ in range(10)]}), 201)
        ids += [j["id"] for j in answer["jobs"]]

    answer = await ok(await client.post("/jobs/cancel", json={"filter": {"type": "ocr"}}))

    assert (answer["selected"], answer["acted"]) == (30, 30)
    assert set(await _statuses(client, ids)) == {"cancelled"}
    for job_id in ids[:5]:
        events = (await ok(await client.get(f"/jobs/{job_id}/events")))["events"]
        assert [e["type"] for e in events] == ["JobCreated", "JobCancelled"]


async def test_resuming_with_as_of_acts_on_the_rest_and_never_twice(client, create_job, send):
    first = [await _failed(client, create_job, send, type="ocr") for _ in range(2)]
    answer = await ok(await client.post("/jobs/retry", json={"filter": {"type": "ocr"}}))
    assert answer["acted"] == 2
    # a retried job fails again after as_of, and a job created after as_of fails too
    await ok(await send(first[0], "start"))
    await ok(await send(first[0], "fail", {"error": {"message": "again"}}))
    later = await _failed(client, create_job, send, type="ocr")

    again = await ok(await client.post("/jobs/retry", json={"filter": {"type": "ocr"}, "as_of": answer["as_of"]}))

    assert (again["selected"], again["acted"], again["as_of"]) == (0, 0, answer["as_of"])
    assert await _statuses(client, [first[0]["id"], later["id"]]) == ["failed", "failed"]
    retried = [e for e in (await ok(await client.get(f"/jobs/{first[0]['id']}/events")))["events"] if e["metadata"].get("bulk")]
    assert len(retried) == 1


async def test_cancel_with_an_as_of_leaves_jobs_created_after_it(client, create_job):
    before = await create_job(type="ocr")
    as_of = (datetime.fromisoformat(before["created_at"]) + timedelta(microseconds=1)).isoformat()
    after = await create_job(type="ocr")
    answer = await ok(await client.post("/jobs/cancel", json={"filter": {"type": "ocr"}, "as_of": as_of}))
    assert answer["acted"] == 1
    assert await _statuses(client, [before["id"], after["id"]]) == ["cancelled", "queued"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/jobs/cancel", {"filter": {"status": "completed"}}, "filter.status"),
        ("/jobs/retry", {"filter": {"status": "queued"}}, "filter.status"),
        ("/jobs/cancel", {"filter": {"metadata": {"": "x"}}}, "filter.metadata"),
        ("/jobs/cancel", {"filter": {"metadata": {"user_id": 42}}}, "filter.metadata.user_id"),
        ("/jobs/cancel", {"filter": {"colour": "red"}}, "filter.colour"),
        ("/jobs/cancel", {"dry_run": "yes"}, "dry_run"),
        ("/jobs/cancel", {"as_of": "yesterday"}, "as_of"),
        ("/jobs/retry", {"filter": {"created_after": "2026-12-07T10:00:00"}}, "filter.created_after"),
    ],
)
async def test_a_bad_request_names_the_field_and_changes_nothing(client, create_job, send, unchanged, path, body, field):
    await create_job()
    await _failed(client, create_job, send)
    async with unchanged():
        fields = await bad_fields(await client.post(path, json=body))
    assert any(f.startswith(field) for f in fields), fields


async def test_a_bulk_action_takes_only_the_callers_tenants_jobs(secure, make_key):
    acme, globex = bearer(await make_key("client", "acme")), bearer(await make_key("client", "globex"))
    ours = await ok(await secure.post("/jobs", json={"type": "report"}, headers=acme), 201)
    theirs = await ok(await secure.post("/jobs", json={"type": "report"}, headers=globex), 201)

    answer = await ok(await secure.post("/jobs/cancel", json={}, headers=acme))

    assert answer["acted"] == 1
    assert (await ok(await secure.get(f"/jobs/{ours['id']}", headers=acme)))["status"] == "cancelled"
    assert (await ok(await secure.get(f"/jobs/{theirs['id']}", headers=globex)))["status"] == "queued"
    worker = bearer(await make_key("worker", "acme"))
    assert (await secure.post("/jobs/cancel", json={}, headers=worker)).status == 403


async def test_a_page_whose_jobs_need_no_event_acts_on_none(client, create_job):
    """A leased job whose cancel was already asked records nothing more: a page of only such jobs
    appends nothing (an empty append was a 500 on PostgreSQL)."""
    job = await create_job(type="leased")
    claim = {"worker_id": "w1", "types": ["leased"], "limit": 1, "lease_seconds": 60}
    [claimed] = (await ok(await client.post("/workers/claim", json=claim)))["jobs"]
    asked = await ok(await client.post(f"/jobs/{job['id']}/cancel", json={"reason": "first"}))
    assert asked["cancel_requested"] is True and asked["status"] == "running"

    answer = await ok(await client.post("/jobs/cancel", json={"filter": {"type": "leased"}}))

    assert (answer["selected"], answer["acted"]) == (1, 0)
    assert (await ok(await client.get(f"/jobs/{claimed['id']}")))["version"] == asked["version"]
