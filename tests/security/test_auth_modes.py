"""Open only on loopback unless keys are required; a missing, malformed, unknown or revoked
key answers 401 and changes nothing."""

import subprocess

import orjson
import pytest

from jobledger.web.config import Settings
from tests.security.conftest import bearer
from tests.test_cli import CLI, free_port
from tests.service.helpers import error_of, ok


async def _job_count(store) -> int:
    return sum((await store.status.count_by_status()).values())


async def test_open_on_loopback_needs_no_key(client):
    job = await ok(await client.post("/jobs", json={"type": "report"}), 201)
    assert job["tenant"] == "default"


async def test_a_key_given_in_open_mode_still_counts(client, make_key):
    key = await make_key("auditor")
    await error_of(await client.post("/jobs", json={"type": "report"}, headers=bearer(key)), 403, "forbidden")
    await error_of(await client.get("/jobs", headers=bearer("jl_nope_nope")), 401, "unauthorized")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}, {"Authorization": "Bearer jl_x_unknown"}],
    ids=["missing", "not-bearer", "empty", "unknown"],
)
async def test_required_mode_refuses_requests_without_a_valid_key(secure, store, headers):
    before = await _job_count(store)
    resp = await secure.post("/jobs", json={"type": "report"}, headers=headers)
    await error_of(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    await error_of(await secure.get("/jobs", headers=headers), 401, "unauthorized")
    assert await _job_count(store) == before


async def test_any_bind_but_loopback_requires_keys(serve, settings, make_key):
    assert Settings(host="0.0.0.0").auth_required and Settings(host="192.168.1.5").auth_required
    assert not Settings(host="127.0.0.1").auth_required and not Settings(host="::1").auth_required
    public = await serve(settings.model_copy(update={"host": "0.0.0.0"}))
    await error_of(await public.get("/jobs"), 401, "unauthorized")
    key = await make_key("client")
    assert (await ok(await public.get("/jobs", headers=bearer(key))))["jobs"] == []


async def test_a_revoked_key_stops_working(secure, store, make_key):
    key = await make_key("client")
    await ok(await secure.get("/jobs", headers=bearer(key)))
    (record,) = await store.registry.list_keys()
    assert await store.registry.revoke_key(record.key_id, record.created_at)
    await error_of(await secure.get("/jobs", headers=bearer(key)), 401, "unauthorized")
    assert not await store.registry.revoke_key(record.key_id, record.created_at)  # revoked once only


async def test_health_is_brief_without_an_operator_key(secure, make_key):
    """Counts across every tenant are an operator's view: not a client's, nor a tenant admin's."""
    brief = await ok(await secure.get("/health"))
    assert brief["status"] == "ok" and "jobs" not in brief and "queues" not in brief
    for role in ("client", "admin"):
        tenant_view = await ok(await secure.get("/health", headers=bearer(await make_key(role))))
        assert "jobs" not in tenant_view and "queues" not in tenant_view, role
    full = await ok(await secure.get("/health", headers=bearer(await make_key("operator"))))
    assert "jobs" in full and "queues" in full


@pytest.mark.parametrize(("args", "says"), [([], "OPEN"), (["--auth", "required"], "API keys required")])
def test_the_start_up_line_says_whether_keys_are_needed(tmp_path, args, says):
    command = [*CLI, "serve", "--db", f"sqlite:///{tmp_path}/s.db", "--port", str(free_port()), *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        first = orjson.loads(process.stderr.readline())
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert first["message"] == "serving" and says in first["auth"], first
