"""Schedules belong to a tenant, as jobs do: another tenant's schedule is not found for every
operation, its fires make jobs of its own tenant only (here fired by the service's own scheduler
loop, in real time), and a key limited to some job types sees only schedules of those types."""

from tests.security.conftest import bearer
from tests.service.helpers import error_of, ok, wait_until

EVERY_SECOND = {"cron": "* * * * * *", "job": {"type": "report", "payload": {"n": 1}}}


async def test_another_tenants_schedule_is_not_found_and_its_fires_are_its_own(secure, make_key):
    acme, globex = bearer(await make_key("admin", "acme")), bearer(await make_key("admin", "globex"))
    await ok(await secure.post("/schedules", json={"name": "tick", **EVERY_SECOND}, headers=acme), 201)

    for method, path, body in [
        ("GET", "/schedules/tick", None), ("PUT", "/schedules/tick", EVERY_SECOND), ("POST", "/schedules/tick/pause", {}),
        ("POST", "/schedules/tick/resume", {}), ("DELETE", "/schedules/tick", None), ("GET", "/schedules/tick/events", None),
    ]:
        await error_of(await secure.request(method, path, json=body, headers=globex), 404, "schedule_not_found")
    assert (await ok(await secure.get("/schedules", headers=globex)))["schedules"] == []

    async def acme_jobs():
        return (await ok(await secure.get("/jobs", headers=acme)))["jobs"]

    fired = await wait_until(acme_jobs, timeout=5)  # the loop, woken by the creation, fires within a second or two
    assert all(j["tenant"] == "acme" and j["idempotency_key"].startswith("schedule:tick:1:") for j in fired)
    assert (await ok(await secure.get("/jobs", headers=globex)))["jobs"] == []
    acme_tick = await ok(await secure.get("/schedules/tick", headers=acme))
    assert acme_tick["last_fires"][0]["job_id"] in {j["id"] for j in await acme_jobs()}

    own = {"name": "tick", "cron": "0 3 * * *", "job": {"type": "other"}}
    await ok(await secure.post("/schedules", json=own, headers=globex), 201)  # the same name, its own schedule
    assert (await ok(await secure.get("/schedules/tick", headers=globex)))["job"] == {"type": "other"}
    assert (await ok(await secure.get("/schedules/tick", headers=acme)))["job"]["type"] == "report"

    typed = bearer(await make_key("admin", "acme", types=("other",)))
    await error_of(await secure.get("/schedules/tick", headers=typed), 404, "schedule_not_found")
    assert (await ok(await secure.get("/schedules", headers=typed)))["schedules"] == []
    await error_of(await secure.post("/schedules", json={"name": "t2", **EVERY_SECOND}, headers=typed), 403, "forbidden")
    await ok(await secure.delete("/schedules/tick", headers=acme))  # and the loop stops firing it
