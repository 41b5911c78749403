"""The audit trail records who authenticated, never who a header claims to be: every event's
`actor` is the key (`key:<id>` and its name); `X-Actor` is kept apart as `on_behalf_of`, and
only from roles that may assert it (worker, admin); from any other role it answers 403."""

import pytest

from jobledger.application.jobs import utcnow
from jobledger.web import auth
from tests.security.conftest import bearer
from tests.service.helpers import error_of, ok


@pytest.fixture
def named_key(store):
    """named_key(role, name) -> (the key's headers, its id), stored for tenant acme."""

    async def make(role: str, name: str) -> tuple[dict[str, str], str]:
        key, record = auth.new_key(role, "acme", None, name, utcnow())
        await store.registry.put_key(record)
        return bearer(key), record.key_id

    return make


async def _events(service, job_id: str, headers: dict[str, str]) -> list[dict]:
    return (await ok(await service.get(f"/jobs/{job_id}/events", headers=headers)))["events"]


async def test_a_client_key_cannot_claim_another_identity(secure, store, named_key):
    """Defends against a client key sending `X-Actor: security-admin` and being recorded as
    `cancelled_by: "security-admin"`."""
    client, client_id = await named_key("client", "billing app")
    job = await ok(await secure.post("/jobs", json={"type": "report"}, headers=client), 201)
    head = await store.log.head()

    for method, path in [("POST", f"/jobs/{job['id']}/cancel"), ("POST", "/jobs"), ("GET", "/jobs")]:
        resp = await secure.request(method, path, json={"type": "report"} if path == "/jobs" else {},
                                    headers={**client, "X-Actor": "security-admin"})
        details = await error_of(resp, 403, "forbidden")
        assert details["fields"][0]["field"] == "X-Actor", details
    assert await store.log.head() == head

    cancelled = await ok(await secure.post(f"/jobs/{job['id']}/cancel", json={}, headers=client))
    assert cancelled["cancelled_by"] == f"key:{client_id}"
    created, cancel = await _events(secure, job["id"], client)
    for event in (created, cancel):
        assert (event["metadata"]["actor"], event["metadata"]["actor_name"]) == (f"key:{client_id}", "billing app")
        assert "on_behalf_of" not in event["metadata"]
    assert cancel["data"]["cancelled_by"] == f"key:{client_id}"


async def test_an_admins_x_actor_is_recorded_apart_as_on_behalf_of(secure, named_key):
    """Defends against an asserted identity replacing the authenticated one in the trail."""
    admin, admin_id = await named_key("admin", "ops console")
    job = await ok(await secure.post("/jobs", json={"type": "report"}, headers=admin), 201)

    cancelled = await ok(await secure.post(f"/jobs/{job['id']}/cancel", json={}, headers={**admin, "X-Actor": "alice"}))

    assert cancelled["cancelled_by"] == f"key:{admin_id}"
    meta = (await _events(secure, job["id"], admin))[-1]["metadata"]
    assert (meta["actor"], meta["actor_name"], meta["on_behalf_of"]) == (f"key:{admin_id}", "ops console", "alice")


async def test_a_workers_claim_and_reports_record_its_key_and_the_worker(secure, named_key):
    """Defends against a worker's body (`worker_id`) or header standing in for its key."""
    admin, _ = await named_key("admin", "ops")
    worker, worker_id = await named_key("worker", "gpu pool")
    job = await ok(await secure.post("/jobs", json={"type": "report"}, headers=admin), 201)

    claim = {"worker_id": "gpu-7", "types": ["report"]}
    [doc] = (await ok(await secure.post("/workers/claim", json=claim, headers={**worker, "X-Actor": "worker:gpu-7"})))["jobs"]
    await ok(await secure.post(f"/jobs/{job['id']}/complete", json={"lease_token": doc["lease_token"]}, headers=worker))

    _, started, completed = await _events(secure, job["id"], admin)
    assert started["metadata"]["actor"] == completed["metadata"]["actor"] == f"key:{worker_id}"
    assert (started["metadata"]["worker_id"], started["metadata"]["on_behalf_of"]) == ("gpu-7", "worker:gpu-7")
    assert started["metadata"]["actor_name"] == "gpu pool"


async def test_the_open_mode_records_api_as_the_actor(client):
    """Defends against a header being recorded as the actor where no key authenticates."""
    job = await ok(await client.post("/jobs", json={"type": "report"}), 201)

    cancelled = await ok(await client.post(f"/jobs/{job['id']}/cancel", json={}, headers={"X-Actor": "mallory"}))

    assert cancelled["cancelled_by"] == "api"
    meta = (await _events(client, job["id"], {}))[-1]["metadata"]
    assert (meta["actor"], meta["on_behalf_of"]) == ("api", "mallory")
