"""Fires against a controlled clock, on both backends: each fire time's job made once from the
template, across both daylight-saving changes of Europe/Berlin, by the overlap policies, and the
catch-up policies after downtime."""

from datetime import timedelta

from jobledger.web import keys
from tests.schedules.conftest import fired, jobs_by_key, schedule_events, utc
from tests.service.helpers import ok

TEMPLATE = {"type": "report", "payload": {"scope": "daily"}, "metadata": {"team": "ops"}, "priority": 3}


async def create(client, name: str, cron: str, **more) -> dict:
    body = {"name": name, "cron": cron, "timezone": more.pop("timezone", "UTC"), "job": more.pop("job", TEMPLATE), **more}
    return await ok(await client.post("/schedules", json=body), 201)


async def test_each_fire_time_makes_one_job_from_the_template_and_its_types_defaults(app, tick):
    client, clock = app
    t0 = clock.now
    await ok(await client.put("/types/report", json={"max_attempts": 4, "phases": ["gather", "render"]}))
    await create(client, "every-20s", "*/20 * * * * *")

    assert await tick(t0 + timedelta(seconds=45)) == 1
    assert await tick(t0 + timedelta(seconds=45)) == 0  # nothing due twice

    fires = await fired(client, "every-20s")
    assert list(fires) == ["2031-03-01T09:00:20+00:00", "2031-03-01T09:00:40+00:00"]
    jobs = await jobs_by_key(client)
    assert {k: j["id"] for k, j in jobs.items()} == {f"schedule:every-20s:1:{at}": job for at, job in fires.items()}
    job = jobs["schedule:every-20s:1:2031-03-01T09:00:20+00:00"]
    assert (job["payload"], job["metadata"], job["priority"], job["max_attempts"]) == ({"scope": "daily"}, {"team": "ops"}, 3, 4)
    assert [p["name"] for p in job["phases"]] == ["gather", "render"] and job["status"] == "queued"
    shown = await ok(await client.get("/schedules/every-20s"))
    assert shown["next_fire_at"] == "2031-03-01T09:01:00+00:00"
    assert [(f["fire_at"], f["job_id"]) for f in shown["last_fires"]] == list(fires.items())[::-1]
    events = await ok(await client.get(f"/jobs/{job['id']}/events"))
    assert events["events"][0]["metadata"]["actor"] == "scheduler"


async def test_daylight_saving_changes_in_berlin_fire_each_time_once(app, tick):
    """30 2 * * *: in March 02:30 does not exist, it fires at 03:00 CEST; in October 02:30 comes
    twice, it fires the first time only. */30: every half hour that exists, both 02:30s in October."""
    client, clock = app
    expected = {
        "march": (utc("2026-03-28T23:50:00Z"), ["2026-03-29T01:00:00+00:00"],
                  ["2026-03-29T00:00:00+00:00", "2026-03-29T00:30:00+00:00", "2026-03-29T01:00:00+00:00",
                   "2026-03-29T01:30:00+00:00", "2026-03-29T02:00:00+00:00"]),
        "october": (utc("2026-10-24T23:50:00Z"), ["2026-10-25T00:30:00+00:00"],
                    ["2026-10-25T00:00:00+00:00", "2026-10-25T00:30:00+00:00", "2026-10-25T01:00:00+00:00",
                     "2026-10-25T01:30:00+00:00", "2026-10-25T02:00:00+00:00"]),
    }
    for change, (start, daily, half_hourly) in expected.items():
        clock.now = start
        await create(client, f"daily-{change}", "30 2 * * *", timezone="Europe/Berlin")
        await create(client, f"half-hourly-{change}", "*/30 * * * *", timezone="Europe/Berlin")
        for step in range(1, 15):  # every 10 minutes to 02:10 UTC: each fire on time
            await tick(start + timedelta(minutes=10 * step))

        assert list(await fired(client, f"daily-{change}")) == daily
        assert list(await fired(client, f"half-hourly-{change}")) == half_hourly
        for name in (f"daily-{change}", f"half-hourly-{change}"):  # or they would catch up in October
            await ok(await client.delete(f"/schedules/{name}"))
    jobs = await jobs_by_key(client)
    made = sorted(k.split(":", 3)[3] for k in jobs)
    assert made == sorted(at for _, daily, half in expected.values() for at in daily + half)  # one job per fire
    assert len({j["id"] for j in jobs.values()}) == len(jobs)


async def test_overlap_policies_decide_a_fire_whose_previous_job_is_unfinished(app, tick):
    client, clock = app
    t0 = clock.now
    for policy in ("skip", "allow", "cancel_previous"):
        await create(client, policy, "* * * * *", overlap=policy)
    await tick(t0 + timedelta(minutes=1))
    first = {policy: (await fired(client, policy))["2031-03-01T09:01:00+00:00"] for policy in ("skip", "allow", "cancel_previous")}

    await tick(t0 + timedelta(minutes=2))  # every first job is still queued

    skipped = (await schedule_events(client, "skip"))[-1]
    assert (skipped["type"], skipped["data"]["running_job_id"]) == ("ScheduleFireSkipped", first["skip"])
    assert len(await fired(client, "allow")) == 2
    cancelling = (await schedule_events(client, "cancel_previous"))[-1]["data"]
    assert cancelling["cancelled_job_id"] == first["cancel_previous"]
    cancelled = await ok(await client.get(f"/jobs/{first['cancel_previous']}"))
    assert cancelled["status"] == "cancelled" and "cancel_previous" in cancelled["cancel_reason"]
    assert (await ok(await client.get(f"/jobs/{cancelling['job_id']}")))["status"] == "queued"

    await ok(await client.post(f"/jobs/{first['skip']}/start"))
    await ok(await client.post(f"/jobs/{first['skip']}/complete", json={}))
    await tick(t0 + timedelta(minutes=3))  # the previous job finished: skip fires again
    assert list(await fired(client, "skip")) == ["2031-03-01T09:01:00+00:00", "2031-03-01T09:03:00+00:00"]
    last = (await ok(await client.get("/schedules/skip")))["last_fires"]
    assert [f["skipped"] is not None for f in last] == [False, True, False]


async def test_catch_up_policies_after_downtime(app, tick):
    """Every 5 minutes from 09:00; nothing runs until 09:22:30, past the grace of a minute: 09:05,
    09:10, 09:15 and 09:20 were missed."""
    client, clock = app
    policies = {"none": ({"catch_up": "none"}, [], "09:20"), "latest": ({"catch_up": "latest"}, ["09:20"], "09:15"),
                "last-two": ({"catch_up": "all", "catch_up_limit": 2}, ["09:15", "09:20"], "09:10"),
                "all": ({"catch_up": "all"}, ["09:05", "09:10", "09:15", "09:20"], None)}
    for name, (policy, _, _) in policies.items():
        await create(client, name, "*/5 * * * *", **policy)

    await tick(clock.now + timedelta(minutes=22, seconds=30))

    for name, (_, late, last_missed) in policies.items():
        history = await schedule_events(client, name)
        fires = [e["data"] for e in history if e["type"] == "ScheduleFired"]
        assert [f["fire_at"][11:16] for f in fires] == late, name
        assert all(f["late"] for f in fires)
        missed = [e["data"] for e in history if e["type"] == "ScheduleFiresMissed"]
        assert [(m["first"][11:16], m["last"][11:16]) for m in missed] == ([("09:05", last_missed)] if last_missed else [])
        assert (await ok(await client.get(f"/schedules/{name}")))["next_fire_at"] == "2031-03-01T09:25:00+00:00"
    assert len(await jobs_by_key(client)) == 7


async def test_a_schedule_that_cannot_fire_is_paused_and_holds_back_no_other(app, tick, backend):
    """A definition the service would refuse today (stored before a check it fails) pauses its
    schedule, with why, at its fire time; the others fire."""
    client, clock = app
    await create(client, "broken", "* * * * *")
    await create(client, "fine", "* * * * *")
    schedules = client.app[keys.stores_key].schedules
    if backend == "sqlite":
        await schedules.db.write("UPDATE schedules SET config = json_set(config, '$.cron', 'not cron') WHERE name = 'broken'")
    else:
        await schedules.db.fetch(
            "UPDATE schedules SET config = jsonb_set(config::jsonb, '{cron}', '\"not cron\"')::json WHERE name = 'broken'"
        )

    await tick(clock.now + timedelta(minutes=1))

    broken = await ok(await client.get("/schedules/broken"))
    assert broken["status"] == "paused" and broken["paused_reason"].startswith("cannot fire: not a cron expression")
    assert (await schedule_events(client, "broken"))[-1]["metadata"]["actor"] == "scheduler"
    assert list(await fired(client, "fine")) == ["2031-03-01T09:01:00+00:00"]


async def test_a_fire_checks_its_payload_against_the_types_schema_as_it_is_then(app, tick):
    """A type's schema tightened after its schedule was made: the next fire makes no job the
    schema refuses (a create through the API would be refused too); the schedule is paused,
    naming the field, and another schedule of the type whose payload still passes fires."""
    client, clock = app
    await ok(await client.put("/types/report", json={"schema": {"type": "object", "properties": {"scope": {"type": "string"}}}}))
    await create(client, "daily", "* * * * *")
    await create(client, "numbered", "* * * * *", job={"type": "report", "payload": {"scope": "weekly", "n": 1}})
    assert await tick(clock.now + timedelta(minutes=1)) == 2

    tighter = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    await ok(await client.put("/types/report", json={"schema": tighter}))
    refused = await client.post("/jobs", json=TEMPLATE)
    assert refused.status == 400
    await tick(clock.now + timedelta(minutes=1))

    daily = await ok(await client.get("/schedules/daily"))
    assert daily["status"] == "paused" and daily["paused_reason"] == "cannot fire: payload: 'n' is a required property"
    assert list(await fired(client, "daily")) == ["2031-03-01T09:01:00+00:00"]  # no second job
    assert list(await fired(client, "numbered")) == ["2031-03-01T09:01:00+00:00", "2031-03-01T09:02:00+00:00"]
    assert len(await jobs_by_key(client)) == 3
