"""Schedules over HTTP, on both backends: create, read, list, update, pause, resume, delete, each
an event of the schedule's stream, bad definitions refused with the field named, and a tenant's
schedules capped (JOBLEDGER_MAX_SCHEDULES)."""

import asyncio

from tests.schedules.conftest import schedule_events
from tests.security.conftest import tenant_clients
from tests.service.helpers import all_events, bad_fields, error_of, ok

BODY = {
    "name": "nightly-report", "cron": "0 2 * * *", "timezone": "Europe/Berlin",
    "job": {"type": "report", "payload": {"scope": "daily"}, "metadata": {"team": "ops"}, "priority": 3, "phases": ["gather", "render"]},
    "overlap": "skip", "catch_up": "all", "catch_up_limit": 3,
}
DEFINITION = {k: v for k, v in BODY.items() if k != "name"}


async def test_a_schedules_life_is_events_of_its_stream(app):
    client, clock = app  # Saturday 2031-03-01 10:00 in Berlin (CET, UTC+1)
    resp = await client.post("/schedules", json=BODY)
    created = await ok(resp, 201)
    assert resp.headers["Location"] == "/schedules/nightly-report"
    assert created == {
        **BODY, "status": "active", "paused_reason": None, "next_fire_at": "2031-03-02T01:00:00+00:00", "last_fires": [],
        "version": 1, "created_at": "2031-03-01T09:00:00+00:00", "updated_at": "2031-03-01T09:00:00+00:00",
    }
    assert await ok(await client.get("/schedules/nightly-report")) == created
    assert await ok(await client.get("/schedules")) == {"schedules": [created], "next_cursor": None}
    await error_of(await client.post("/schedules", json=BODY), 409, "schedule_exists")

    weekdays = await ok(await client.put("/schedules/nightly-report", json={**DEFINITION, "cron": "30 6 * * 1-5"}))
    assert (weekdays["cron"], weekdays["next_fire_at"], weekdays["version"]) == ("30 6 * * 1-5", "2031-03-03T05:30:00+00:00", 2)
    paused = await ok(await client.post("/schedules/nightly-report/pause", json={"reason": "holidays"}))
    assert (paused["status"], paused["paused_reason"], paused["next_fire_at"], paused["version"]) == ("paused", "holidays", None, 3)
    assert (await ok(await client.post("/schedules/nightly-report/pause", json={})))["version"] == 3  # already paused
    clock.now = clock.now.replace(day=4)  # Tuesday: Monday's time passed while paused, and is not caught up
    resumed = await ok(await client.post("/schedules/nightly-report/resume", json={}))
    assert (resumed["status"], resumed["next_fire_at"], resumed["version"]) == ("active", "2031-03-05T05:30:00+00:00", 4)
    deleted = await ok(await client.delete("/schedules/nightly-report"))
    assert (deleted["status"], deleted["next_fire_at"]) == ("deleted", None)

    await error_of(await client.get("/schedules/nightly-report"), 404, "schedule_not_found")
    await error_of(await client.delete("/schedules/nightly-report"), 404, "schedule_not_found")
    assert (await ok(await client.get("/schedules")))["schedules"] == []
    history = await schedule_events(client, "nightly-report")
    assert [e["type"] for e in history] == [
        "ScheduleCreated", "ScheduleUpdated", "SchedulePaused", "ScheduleResumed", "ScheduleDeleted",
    ]
    assert history[2]["data"]["reason"] == "holidays" and all(e["metadata"]["actor"] for e in history)
    again = await ok(await client.post("/schedules", json=BODY), 201)  # the name is free again: a new generation
    assert (again["version"], again["status"]) == (6, "active")


BAD = [
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "* * *"}, "cron"),
    ({"cron": "0 0 30 2 *"}, "cron"),  # February 30th: never
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"job": {"payload": {}}}, "job.type"),
    ({"job": {"type": "report", "run_at": "2031-03-02T00:00:00Z"}}, "job.run_at"),
    ({"job": {"type": "report", "depends_on": ["00000000-0000-0000-0000-000000000001"]}}, "job.depends_on"),
    ({"job": {"type": "report", "priority": "high"}}, "job.priority"),
    ({"overlap": "queue"}, "overlap"),
    ({"catch_up": "all", "catch_up_limit": 0}, "catch_up_limit"),
    ({"name": "has space"}, "name"),
    ({"name": "<script>"}, "name"),
    ({"job": {"type": "checked"}}, "job.payload"),  # its type's schema requires `scope`
]


async def test_a_bad_definition_is_refused_naming_its_field_and_changes_nothing_and_the_list_pages(app):
    client, _ = app
    await ok(await client.put("/types/checked", json={"schema": {"type": "object", "required": ["scope"]}}))
    await ok(await client.post("/schedules", json=BODY), 201)
    before = await all_events(client)

    for change, field in BAD:
        assert await bad_fields(await client.post("/schedules", json={**BODY, "name": "other", **change})) == [field], change
        if "name" not in change:
            update = {**DEFINITION, **change}
            assert await bad_fields(await client.put("/schedules/nightly-report", json=update)) == [field], change

    assert await all_events(client) == before
    assert [s["version"] for s in (await ok(await client.get("/schedules")))["schedules"]] == [1]
    for name in ("c", "a"):
        await ok(await client.post("/schedules", json={**BODY, "name": name}), 201)
    first = await ok(await client.get("/schedules", params={"limit": 2}))
    rest = await ok(await client.get("/schedules", params={"limit": 2, "cursor": first["next_cursor"]}))
    assert [s["name"] for s in first["schedules"]] == ["a", "c"] and first["next_cursor"] == "c"
    assert [s["name"] for s in rest["schedules"]] == ["nightly-report"] and rest["next_cursor"] is None



async def test_a_tenant_holds_at_most_max_schedules_and_another_tenant_is_not_held_back(serve, settings, store):
    client, keys = await tenant_clients(serve, settings, store, max_schedules=2)

    def body(name: str) -> dict:
        return {"name": name, "cron": "0 * * * *", "timezone": "UTC", "job": {"type": "report"}}

    for name in ("a", "b"):
        await ok(await client.post("/schedules", json=body(name), headers=keys["acme"]), 201)
    before = (await ok(await client.get("/events", headers=keys["acme"])))["events"]
    details = await error_of(await client.post("/schedules", json=body("c"), headers=keys["acme"]), 409, "limit_reached")
    assert details == {"limit": 2, "setting": "JOBLEDGER_MAX_SCHEDULES"}
    assert (await ok(await client.get("/events", headers=keys["acme"])))["events"] == before  # nothing written
    await ok(await client.post("/schedules", json=body("c"), headers=keys["globex"]), 201)

    await ok(await client.delete("/schedules/a", headers=keys["acme"]))  # a deleted one counts no more
    at_once = await asyncio.gather(*(client.post("/schedules", json=body(f"n{n}"), headers=keys["acme"]) for n in range(5)))
    assert sorted(r.status for r in at_once) == [201, 409, 409, 409, 409]  # creates at once take turns: one fits
    assert len((await ok(await client.get("/schedules", headers=keys["acme"])))["schedules"]) == 2
