"""A tenant given its own figures (JOBLEDGER_TENANT_LIMITS) is held to them, in place of the
service-wide settings; every other tenant keeps those. A refusal names the setting to change."""

import pydantic
import pytest
from aiohttp import WSServerHandshakeError

from jobledger.web.config import Settings, TenantLimits
from tests.security.conftest import bearer, tenant_clients
from tests.service.helpers import error_of, ok

OWN = {"acme": TenantLimits(max_webhooks=2, max_schedules=2, rate_limit="4/minute")}


@pytest.fixture
async def tenants(serve, settings, store):
    """acme has its own figures; globex holds to the service's, which are lower than acme's (one each)."""
    return await tenant_clients(
        serve, settings, store, max_webhooks=1, max_schedules=1, tenant_limits=OWN, webhook_allow_private="loopback"
    )


def _schedule(name: str) -> dict:
    return {"name": name, "cron": "0 * * * *", "timezone": "UTC", "job": {"type": "report"}}


@pytest.mark.parametrize(
    ("path", "body", "setting"),
    [
        ("/webhooks", lambda n: {"url": f"http://127.0.0.1:9/{n}"}, "max_webhooks"),
        ("/schedules", lambda n: _schedule(f"s{n}"), "max_schedules"),
    ],
    ids=["webhooks", "schedules"],
)
async def test_a_tenant_with_its_own_cap_holds_that_many_and_the_others_the_services(tenants, path, body, setting):
    client, keys = tenants
    for n in range(2):  # more than the service-wide one
        await ok(await client.post(path, json=body(n), headers=keys["acme"]), 201)
    details = await error_of(await client.post(path, json=body(2), headers=keys["acme"]), 409, "limit_reached")
    assert details == {"limit": 2, "setting": "JOBLEDGER_TENANT_LIMITS"}

    await ok(await client.post(path, json=body(0), headers=keys["globex"]), 201)
    details = await error_of(await client.post(path, json=body(1), headers=keys["globex"]), 409, "limit_reached")
    assert details == {"limit": 1, "setting": f"JOBLEDGER_{setting.upper()}"}
    listed = (await ok(await client.get(path, headers=keys["acme"])))[path.strip("/")]
    assert len(listed) == 2


async def test_a_tenant_with_its_own_rate_is_held_to_it_and_the_others_are_not(tenants):
    client, keys = tenants
    for _ in range(4):
        await ok(await client.get("/jobs", headers=keys["acme"]))
    resp = await client.get("/jobs", headers=keys["acme"])
    details = await error_of(resp, 429, "rate_limited")
    assert details["limit"] == "4 per 1 minute" and 1 <= int(resp.headers["Retry-After"]) <= 60
    for _ in range(10):  # the service-wide rate (1000/second)
        await ok(await client.get("/jobs", headers=keys["globex"]))


async def test_a_tenant_without_its_own_rate_keeps_the_services(serve, settings, store, make_key):
    only_caps = {"acme": TenantLimits(max_webhooks=5)}
    update = {"auth": "required", "rate_limit": "3/minute", "tenant_limits": only_caps}
    client = await serve(settings.model_copy(update=update))
    key = bearer(await make_key("client", "acme"))
    for _ in range(3):
        await ok(await client.get("/jobs", headers=key))
    assert (await error_of(await client.get("/jobs", headers=key), 429, "rate_limited"))["limit"] == "3 per 1 minute"


async def test_a_tenant_with_its_own_socket_cap_holds_that_many_sockets_a_key(serve, settings, store, monkeypatch):
    monkeypatch.setenv("JOBLEDGER_WS_MAX_SOCKETS_PER_KEY", "1")
    own = {"acme": TenantLimits(ws_max_sockets_per_key=2)}
    client, keys = await tenant_clients(serve, settings, store, tenant_limits=own)
    held = [await client.ws_connect("/ws", headers=keys["acme"]) for _ in range(2)]
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers=keys["acme"])
    assert refused.value.status == 429
    held.append(await client.ws_connect("/ws", headers=keys["globex"]))
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/ws", headers=keys["globex"])
    assert refused.value.status == 429
    for ws in held:
        await ws.close()


def test_the_setting_is_read_from_json_in_the_environment(monkeypatch):
    given = '{"acme": {"max_schedules": 7}, "globex": {"rate_limit": "9/second"}}'
    monkeypatch.setenv("JOBLEDGER_TENANT_LIMITS", given)
    settings = Settings()
    assert settings.per_tenant("max_schedules").of("acme") == 7
    assert settings.per_tenant("max_schedules").of("globex") == settings.max_schedules == 1000
    assert settings.per_tenant("rate_limit").of("globex") == "9/second"


@pytest.mark.parametrize(
    ("given", "field", "reason"),
    [
        ({"acme": {"max_hooks": 3}}, "tenant_limits.acme.max_hooks", "Extra inputs are not permitted"),
        ({"acme": {"rate_limit": "fast"}}, "tenant_limits.acme.rate_limit", "not a rate like '100/second'"),
        ({"acme": {"max_webhooks": 0}}, "tenant_limits.acme.max_webhooks", "greater than or equal to 1"),
        ({"acme": 5}, "tenant_limits.acme", "valid dictionary"),
    ],
)
def test_a_malformed_setting_is_refused_naming_the_tenant_and_the_field(monkeypatch, given, field, reason):
    monkeypatch.setenv("JOBLEDGER_TENANT_LIMITS", pydantic.TypeAdapter(dict).dump_json(given).decode())
    with pytest.raises(pydantic.ValidationError) as refused:
        Settings()
    [error] = refused.value.errors()
    assert ".".join(map(str, error["loc"])) == field and reason in error["msg"]
