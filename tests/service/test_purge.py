"""Erasing finished jobs' data, one (POST /jobs/{id}/purge) or many (POST /jobs/purge): every read
shows what remains and nothing of the data, the log records who erased it, and the history still
folds, verifies and lists; on both backends."""

from tests.service.helpers import all_events, error_of, ok

SECRET = {"ssn": "078-05-1120"}


async def _finished(client, create_job, send, **body) -> dict:
    """A job that held data everywhere: payload, metadata, a message, a phase result, an artifact, a result."""
    job = await create_job(payload=SECRET, metadata={"user_id": "u-zq-981"}, phases=["research"], message="queued for you",
                           **body)
    for action, data in (("start", None), ("phases/research/start", None),
                         ("progress", {"percent": 50, "message": "reading the file", "details": SECRET}),
                         ("phases/research/complete", {"result": SECRET}),
                         ("artifacts", {"name": "copy", "data": SECRET}), ("complete", {"result": SECRET})):
        job = await ok(await send(job, action, data))
    return job


async def test_a_purged_job_shows_what_remains_and_none_of_its_data(client, create_job, send):
    job = await _finished(client, create_job, send)

    purged = await ok(await send(job, "purge", {"reason": "the customer asked"}))

    got = await ok(await client.get(f"/jobs/{job['id']}"))
    assert purged == got
    assert (got["payload"], got["metadata"], got["result"], got["error"], got["progress"], got["artifacts"]) == (
        None, {}, None, None, None, [],
    )
    assert got["erased_at"] is not None and got["status"] == "completed" and got["version"] == job["version"] + 1
    assert [(p["name"], p["status"], p["result"]) for p in got["phases"]] == [("research", "completed", None)]
    events = (await ok(await client.get(f"/jobs/{job['id']}/events")))["events"]
    for text in ("078-05-1120", "reading the file", "u-zq-981", "queued for you"):
        assert text not in str(events)
    assert events[-1]["type"] == "JobErased" and events[-1]["data"] == {"reason": "the customer asked", "erased_by": "api"}
    assert "078-05-1120" not in str(await all_events(client))
    await error_of(await client.get(f"/jobs/{job['id']}/artifacts/copy"), 404, "artifact_not_found")
    past = await ok(await client.get(f"/jobs/{job['id']}", params={"at_position": events[2]["position"]}))
    assert past["payload"] is None  # its past too: the events no longer hold it
    assert (await ok(await client.get(f"/jobs/{job['id']}/verify")))["ok"] is True


async def test_a_purged_job_leaves_the_metadata_index_and_cannot_be_retried(client, create_job, send):
    job = await create_job(metadata={"user_id": "42"})
    job = await ok(await send(job, "start"))
    job = await ok(await send(job, "fail", {"error": "boom"}))
    listed = await ok(await client.get("/jobs", params={"metadata.user_id": "42"}))
    assert [j["id"] for j in listed["jobs"]] == [job["id"]]

    await ok(await send(job, "purge"))

    assert (await ok(await client.get("/jobs", params={"metadata.user_id": "42"})))["jobs"] == []
    details = await error_of(await send(job, "retry"), 409, "illegal_transition")
    assert "erased" in details["reason"] if "reason" in details else True


async def test_purging_twice_records_once_and_an_unfinished_job_is_refused(client, create_job, send):
    job = await _finished(client, create_job, send)
    once = await ok(await send(job, "purge"))

    again = await ok(await send(job, "purge"))

    assert again["version"] == once["version"]
    running = await ok(await send(await create_job(), "start"))
    before = await all_events(client)
    await error_of(await send(running, "purge"), 409, "illegal_transition")
    await error_of(await send(await create_job(), "purge"), 409, "illegal_transition")
    assert len(await all_events(client)) == len(before) + 1  # the queued job's creation only


async def test_a_rebuild_folds_the_erased_history_to_the_same_documents(client, create_job, send, store):
    job = await _finished(client, create_job, send)
    purged = await ok(await send(job, "purge"))
    from jobledger.projections import job_status

    await store.status.rebuild_status(job_status.Rebuild())

    rebuilt = await ok(await client.get(f"/jobs/{job['id']}"))
    assert rebuilt == purged


async def test_bulk_purge_takes_the_finished_jobs_a_filter_selects_and_resumes(client, create_job, send):
    mine = [await _finished(client, create_job, send, type="upload") for _ in range(3)]
    other = await _finished(client, create_job, send, type="render")
    queued = await create_job(type="upload")
    body = {"filter": {"type": "upload"}, "reason": "account closed"}

    dry = await ok(await client.post("/jobs/purge", json={**body, "dry_run": True}))
    assert (dry["selected"], dry["acted"]) == (3, 0)
    answer = await ok(await client.post("/jobs/purge", json=body))
    assert (answer["action"], answer["selected"], answer["acted"]) == ("purge", 3, 3)

    for job in mine:
        doc = await ok(await client.get(f"/jobs/{job['id']}"))
        assert doc["erased_at"] is not None and doc["payload"] is None
        erased = (await ok(await client.get(f"/jobs/{job['id']}/events")))["events"][-1]
        assert erased["metadata"]["bulk"]["action"] == "purge" and erased["metadata"]["bulk"]["filter"] == {
            "type": "upload", "metadata": {},
        }
    assert (await ok(await client.get(f"/jobs/{other['id']}")))["payload"] == SECRET
    assert (await ok(await client.get(f"/jobs/{queued['id']}")))["payload"] is None  # never had one
    resumed = await ok(await client.post("/jobs/purge", json={**body, "as_of": answer["as_of"]}))
    assert (resumed["selected"], resumed["acted"]) == (3, 0)  # each erased once


async def test_bad_purge_requests_are_400_and_change_nothing(client, create_job, send, unchanged):
    job = await _finished(client, create_job, send)
    async with unchanged():
        details = await error_of(await send(job, "purge", {"reason": 7}), 400, "invalid_request")
        assert details["fields"][0]["field"] == "reason"
        details = await error_of(await client.post("/jobs/purge", json={"filter": {"status": "queued"}}), 400,
                                 "invalid_request")
        assert details["fields"][0]["field"].startswith("filter.status")
        await error_of(await send(job, "purge", {"colour": 1}), 400, "invalid_request")
