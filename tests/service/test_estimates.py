"""When will it finish: each job document's `estimate`, against a controlled clock and known
queue waits and run times, over the real HTTP API and WebSocket on both backends."""

from datetime import timedelta

import pytest

from jobledger.application.jobs import utcnow
from jobledger.projections.estimates import MIN_SAMPLES
from jobledger.web import auth, keys
from tests.service.clocked import T0, Clock, caught_up, history
from tests.service.helpers import ok


@pytest.fixture
async def app(serve, settings):
    """The service with its clock under the test's control, and durations never kept between requests."""
    client = await serve(settings.model_copy(update={"estimate_cache_seconds": 0}))
    clock = Clock()
    client.app[keys.jobs_key].clock = clock
    return client, clock


@pytest.fixture
async def rendered(app):
    """The app after MIN_SAMPLES "render" jobs (median wait 10 s, run 60 s), caught up; and when the last ended."""
    client, clock = app
    end = await history(client, clock, "render", MIN_SAMPLES)
    await caught_up(client)
    return client, clock, end


def expected(remaining: float, now: float, basis: str = "history") -> dict:
    """The estimate `remaining` seconds from `now` (seconds after T0), from the MIN_SAMPLES runs."""
    finishes_at = (T0 + timedelta(seconds=now + remaining)).isoformat()
    return {"remaining_seconds": remaining, "finishes_at": finishes_at, "basis": basis, "samples": MIN_SAMPLES}


async def test_no_estimate_until_the_type_has_enough_history(app):
    client, clock = app
    end = await history(client, clock, "render", MIN_SAMPLES - 1)
    await caught_up(client)
    clock.at(end)
    queued = await ok(await client.post("/jobs", json={"type": "render"}), 201)
    assert queued["estimate"] is None
    assert (await ok(await client.get(f"/jobs/{queued['id']}")))["estimate"] is None

    await history(client, clock, "render", 1, start=end + 1)  # the fifth completed run
    await caught_up(client)
    clock.at(end + 1000)
    assert (await ok(await client.get(f"/jobs/{queued['id']}")))["estimate"] is not None
    other = await ok(await client.post("/jobs", json={"type": "other"}), 201)
    assert other["estimate"] is None  # another type's history is not this one's


async def test_a_queued_job_waits_the_median_wait_then_runs_the_median_run(rendered):
    client, clock, end = rendered
    clock.at(end + 100)
    job = await ok(await client.post("/jobs", json={"type": "render"}), 201)
    assert job["estimate"] == expected(70.0, end + 100)  # 10 s median wait + 60 s median run
    clock.at(end + 104)  # 4 s into its wait: 6 s of it left, the same finish
    fetched = await ok(await client.get(f"/jobs/{job['id']}"))
    assert fetched["estimate"] == expected(66.0, end + 104) == {**job["estimate"], "remaining_seconds": 66.0}
    listed = (await ok(await client.get("/jobs", params={"type": "render"})))["jobs"]
    assert [j["estimate"] for j in listed] == [fetched["estimate"]] + [None] * MIN_SAMPLES
    clock.at(end + 130)  # waited past the median: it could start any moment, then runs 60 s
    assert (await ok(await client.get(f"/jobs/{job['id']}")))["estimate"]["remaining_seconds"] == 60.0

    later = await ok(
        await client.post("/jobs", json={"type": "render", "run_at": (T0 + timedelta(seconds=end + 400)).isoformat()}),
        201,
    )
    assert later["estimate"]["remaining_seconds"] == 270 + 10 + 60  # until run_at, then the wait and the run


async def test_a_running_job_runs_the_median_less_what_it_has_run(rendered):
    client, clock, end = rendered
    clock.at(end + 100)
    job = await ok(await client.post("/jobs", json={"type": "render"}), 201)
    clock.at(end + 105)
    started = await ok(await client.post(f"/jobs/{job['id']}/start"))
    assert started["estimate"]["remaining_seconds"] == 60.0
    clock.at(end + 125)
    running = await ok(await client.get(f"/jobs/{job['id']}"))
    assert running["estimate"] == expected(40.0, end + 125)
    clock.at(end + 200)  # overran the median: any moment now
    assert (await ok(await client.get(f"/jobs/{job['id']}")))["estimate"]["remaining_seconds"] == 0.0


async def test_a_running_job_that_reports_progress_is_blended_with_its_own_pace(rendered):
    client, clock, end = rendered
    clock.at(end + 100)
    job = await ok(await client.post("/jobs", json={"type": "render"}), 201)
    await ok(await client.post(f"/jobs/{job['id']}/start"))
    clock.at(end + 130)  # 30 s in, 75 % done: its own pace says 10 s more, the history 30 s
    reported = await ok(await client.post(f"/jobs/{job['id']}/progress", json={"percent": 75}))
    blended = 0.75 * 10 + 0.25 * 30
    assert reported["estimate"] == expected(blended, end + 130, "history+progress")
    assert (await ok(await client.get(f"/jobs/{job['id']}")))["estimate"] == reported["estimate"]
    clock.at(end + 140)
    await ok(await client.post(f"/jobs/{job['id']}/progress", json={"percent": 100}))
    assert (await ok(await client.get(f"/jobs/{job['id']}")))["estimate"]["remaining_seconds"] == 0.0


async def test_the_estimate_uses_the_recent_runs_only_the_completed_ones(app):
    client, clock = app
    end = await history(client, clock, "render", MIN_SAMPLES)
    clock.at(end + 1)
    failed = await ok(await client.post("/jobs", json={"type": "render"}), 201)
    await ok(await client.post(f"/jobs/{failed['id']}/start"))
    clock.at(end + 5000)  # a run that failed after long says nothing of how long a good one takes
    await ok(await client.post(f"/jobs/{failed['id']}/fail", json={"error": "boom"}))
    await caught_up(client)
    job = await ok(await client.post("/jobs", json={"type": "render"}), 201)
    assert job["estimate"]["samples"] == MIN_SAMPLES
    assert job["estimate"]["remaining_seconds"] == 70.0  # wait 10 (the failed one's 1 s changes no median) + run 60


async def test_a_live_subscription_carries_the_estimate(rendered):
    client, clock, end = rendered
    clock.at(end + 100)
    job = await ok(await client.post("/jobs", json={"type": "render"}), 201)
    ws = await client.ws_connect(f"/jobs/{job['id']}/ws")
    try:
        first = await ws.receive_json(timeout=5)
        assert first["type"] == "job" and first["job"]["estimate"]["remaining_seconds"] == 70.0
        clock.at(end + 110)
        await ok(await client.post(f"/jobs/{job['id']}/start"))
        message = await ws.receive_json(timeout=5)
        assert message["event"] == "JobStarted"
        assert message["job"]["estimate"]["remaining_seconds"] == 60.0  # as of the event
    finally:
        await ws.close()


async def test_a_tenants_history_gives_no_other_tenant_an_estimate(serve, settings, store):
    client = await serve(settings.model_copy(update={"auth": "required", "auth_cache_seconds": 0, "estimate_cache_seconds": 0}))
    clock = Clock()
    client.app[keys.jobs_key].clock = clock
    headers = {}
    for tenant in ("acme", "globex"):
        key, record = auth.new_key("admin", tenant, None, None, utcnow())
        await store.registry.put_key(record)
        headers[tenant] = {"Authorization": f"Bearer {key}"}
    end = await history(client, clock, "render", MIN_SAMPLES, headers=headers["acme"])
    await caught_up(client, headers["acme"])
    clock.at(end + 100)
    mine = await ok(await client.post("/jobs", json={"type": "render"}, headers=headers["acme"]), 201)
    theirs = await ok(await client.post("/jobs", json={"type": "render"}, headers=headers["globex"]), 201)
    assert mine["estimate"]["remaining_seconds"] == 70.0
    assert theirs["estimate"] is None
