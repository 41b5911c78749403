"""Who gets checkpoints, proofs and bundles (keys required), on both backends: auditor and admin
keys; an auditor only for its own tenant's events; a proof shows other tenants' events only
as hashes."""

import base64
from uuid import UUID

import orjson
import pytest

from tests.audit.conftest import bearer, log_leaves
from tests.service.helpers import error_of, ok


@pytest.fixture
async def secure_audit(serve, audit_settings):
    return await serve(audit_settings.model_copy(update={"auth": "required", "auth_cache_seconds": 0}))


async def _job(client, key: str, secret: str) -> str:
    body = {"type": "report", "payload": {"secret": secret}}
    return (await ok(await client.post("/jobs", json=body, headers=bearer(key)), 201))["id"]


async def _leaf_of(store, job_id: str) -> int:
    events = await store.log.raw_stream(UUID(job_id))
    leaves = await store.tree.leaves_at([e.position for e in events])
    return leaves[events[0].position].leaf_index


async def test_an_auditor_gets_no_bundle_or_proof_of_another_tenants_job(secure_audit, make_key, store):
    """Defends against an auditor of one tenant reading, or confirming the existence of, another
    tenant's events through the audit routes."""
    mine = await _job(secure_audit, await make_key("client", "acme"), "acme-secret")
    theirs = await _job(secure_audit, await make_key("client", "globex"), "globex-secret")
    auditor = bearer(await make_key("auditor", "acme"))
    assert (await secure_audit.post("/checkpoint", headers=auditor)).status == 200
    size = len(await log_leaves(store))

    await error_of(await secure_audit.get(f"/jobs/{theirs}/bundle", headers=auditor), 404, "job_not_found")
    bundle = await ok(await secure_audit.get(f"/jobs/{mine}/bundle", headers=auditor))
    assert "globex-secret" not in orjson.dumps(bundle).decode()

    their_leaf, my_leaf = await _leaf_of(store, theirs), await _leaf_of(store, mine)
    query = {"leaf_index": their_leaf, "tree_size": size}
    await error_of(await secure_audit.get("/proofs/inclusion", params=query, headers=auditor), 404, "leaf_not_found")
    proof = await ok(await secure_audit.get("/proofs/inclusion", params={**query, "leaf_index": my_leaf}, headers=auditor))
    # the other tenant's event is in my proof only as its leaf hash
    assert proof["proof"] == [base64.b64encode((await log_leaves(store))[their_leaf]).decode()]
    # a malformed query is answered as such whoever's the leaf (the tenant check runs beside the proof)
    for bad in ({**query, "tree_size": their_leaf}, {**query, "tree_size": size + 5}):
        refused = await secure_audit.get("/proofs/inclusion", params=bad, headers=auditor)
        assert refused.status in (400, 404) and (await refused.json())["error"]["code"] != "leaf_not_found", bad


async def test_an_admin_gets_a_proof_for_any_leaf_but_a_bundle_of_its_own_tenants_jobs_only(secure_audit, make_key, store):
    theirs = await _job(secure_audit, await make_key("client", "globex"), "globex-secret")
    admin = bearer(await make_key("admin", "acme"))
    assert (await secure_audit.post("/checkpoint", headers=admin)).status == 200
    query = {"leaf_index": await _leaf_of(store, theirs), "tree_size": len(await log_leaves(store))}
    await ok(await secure_audit.get("/proofs/inclusion", params=query, headers=admin))
    await error_of(await secure_audit.get(f"/jobs/{theirs}/bundle", headers=admin), 404, "job_not_found")


@pytest.mark.parametrize("role", ["client", "worker"])
async def test_only_auditor_and_admin_keys_reach_the_audit_routes(secure_audit, make_key, role):
    """Defends against a client or worker key reading the log's proofs (only auditors and admins may)."""
    job = await _job(secure_audit, await make_key("client", "acme"), "x")
    key = bearer(await make_key(role, "acme"))
    for method, path in [
        ("GET", "/checkpoint"), ("POST", "/checkpoint"), ("GET", "/checkpoints"),
        ("GET", "/proofs/inclusion?leaf_index=0&tree_size=1"), ("GET", "/proofs/consistency?first=0&second=1"),
        ("GET", f"/jobs/{job}/bundle"),
    ]:
        await error_of(await secure_audit.request(method, path, headers=key), 403, "forbidden")
        await error_of(await secure_audit.request(method, path), 401, "unauthorized")
