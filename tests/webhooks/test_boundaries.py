"""What a webhook may reach and see: targets that are not global addresses refused at create and
again at delivery (SSRF), and each tenant's endpoints its own."""

import asyncio

import pytest

from tests.security.conftest import tenant_clients
from tests.webhooks.conftest import arrived, deliveries, make_webhook
from tests.workers.helpers import error_of, ok, wait_until

REFUSED = [
    ("http://127.0.0.1:9/x", "loopback"),
    ("http://10.1.2.3/x", "private"),
    ("http://192.168.0.1/x", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[::1]:9/x", "loopback"),
    ("http://[::ffff:127.0.0.1]/x", "loopback"),
    ("http://localhost:9/x", "loopback"),  # a name that resolves to loopback
    ("http://0.0.0.0/x", "unspecified"),
]


async def test_targets_that_are_not_global_are_refused_at_create_and_at_delivery(serve, settings, hook_settings, receiver):
    strict = await serve(settings)  # the default: no kind of private address allowed
    for url, kind in REFUSED:
        details = await error_of(await strict.post("/webhooks", json={"url": url}), 422, "target_refused")
        assert details["fields"][0]["field"] == "url" and kind in details["fields"][0]["reason"], url
    assert (await ok(await strict.get("/events")))["events"] == []

    lenient = await serve(hook_settings)  # allows loopback: its endpoint is made...
    hook = await make_webhook(lenient, receiver, "x")
    await lenient.close()  # ...and only the strict instance is left to send
    await ok(await strict.post("/jobs", json={"type": "report"}), 201)

    async def refused():
        return [a for d in await deliveries(strict, hook) for a in d["attempts"]]

    attempt = (await wait_until(refused))[0]
    assert attempt["status_code"] is None and "loopback" in attempt["error"]
    assert "x" not in receiver.received


@pytest.fixture
async def tenants(serve, hook_settings, store):
    return await tenant_clients(serve, hook_settings, store)


async def test_a_tenant_holds_at_most_max_webhooks_endpoints_and_another_tenant_is_not_held_back(serve, hook_settings, store):
    client, keys = await tenant_clients(serve, hook_settings, store, max_webhooks=2)
    made = [await ok(await client.post("/webhooks", json={"url": f"http://127.0.0.1:9/{n}"}, headers=keys["acme"]), 201)
            for n in range(2)]
    before = (await ok(await client.get("/events", headers=keys["acme"])))["events"]

    details = await error_of(await client.post("/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=keys["acme"]),
                             409, "limit_reached")
    assert details == {"limit": 2, "setting": "JOBLEDGER_MAX_WEBHOOKS"}
    assert (await ok(await client.get("/events", headers=keys["acme"])))["events"] == before  # nothing written
    await ok(await client.post("/webhooks", json={"url": "http://127.0.0.1:9/y"}, headers=keys["globex"]), 201)

    assert (await client.delete(f"/webhooks/{made[0]['id']}", headers=keys["acme"])).status == 204  # counts no more
    at_once = await asyncio.gather(*(client.post("/webhooks", json={"url": f"http://127.0.0.1:9/{n}"}, headers=keys["acme"])
                                     for n in range(5)))
    assert sorted(r.status for r in at_once) == [201, 409, 409, 409, 409]  # creates at once take turns: one fits
    assert len((await ok(await client.get("/webhooks", headers=keys["acme"])))["webhooks"]) == 2


async def test_another_tenants_endpoint_is_not_found_and_gets_none_of_its_events(tenants, receiver):
    client, keys = tenants
    made = await ok(await client.post("/webhooks", json={"url": receiver.to("acme")}, headers=keys["acme"]), 201)
    receiver.secrets["acme"] = [made["secret"]]
    hook, other = f"/webhooks/{made['id']}", keys["globex"]

    for method, path, body in [
        ("get", hook, None), ("patch", hook, {"enabled": False}), ("delete", hook, None),
        ("post", f"{hook}/rotate", {}), ("get", f"{hook}/deliveries", None), ("get", f"{hook}/events", None),
        ("post", f"{hook}/deliveries/msg_x/resend", {}),
    ]:
        await error_of(await client.request(method, path, json=body, headers=other), 404, "webhook_not_found")
    assert (await ok(await client.get("/webhooks", headers=other)))["webhooks"] == []
    await ok(await client.post("/jobs", json={"type": "theirs"}, headers=other), 201)
    mine = await ok(await client.post("/jobs", json={"type": "mine"}, headers=keys["acme"]), 201)

    assert [b["job_id"] for b in await arrived(receiver, "acme", 1)] == [mine["id"]]
    assert (await ok(await client.get(hook, headers=keys["acme"])))["status"] == "active"
    assert len(await deliveries_of(client, hook, keys["acme"])) == 1


async def deliveries_of(client, hook: str, headers: dict) -> list[dict]:
    return (await ok(await client.get(f"{hook}/deliveries", headers=headers)))["deliveries"]


async def test_the_bundle_of_an_endpoints_or_a_schedules_stream_is_the_whole_tenants_only(serve, hook_settings, store):
    """GET /jobs/{id}/bundle takes any stream of the log. An endpoint's or a schedule's belongs to
    no job type: a key limited to types, even to one named like the schedule, gets 404 as for
    another tenant's; a key that sees the whole tenant gets the bundle (or a 409 while no
    checkpoint covers it yet), never a 500."""
    from jobledger.application.jobs import utcnow
    from jobledger.web import auth

    client, keys = await tenant_clients(serve, hook_settings, store)
    key, record = auth.new_key("admin", "acme", ("nightly",), None, utcnow())
    await store.registry.put_key(record)
    typed = {"Authorization": f"Bearer {key}"}
    hook = await ok(await client.post("/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=keys["acme"]), 201)
    schedule = {"name": "nightly", "cron": "0 2 * * *", "timezone": "UTC", "job": {"type": "nightly"}}
    await ok(await client.post("/schedules", json=schedule, headers=keys["acme"]), 201)
    streams = [
        (await ok(await client.get(f"/webhooks/{hook['id']}/events", headers=keys["acme"])))["events"][0]["job_id"],
        (await ok(await client.get("/schedules/nightly/events", headers=keys["acme"])))["events"][0]["job_id"],
    ]

    for stream in streams:
        whole = await client.get(f"/jobs/{stream}/bundle", headers=keys["acme"])
        assert whole.status in (200, 409), await whole.text()
        for headers in (typed, keys["globex"]):
            await error_of(await client.get(f"/jobs/{stream}/bundle", headers=headers), 404, "job_not_found")
