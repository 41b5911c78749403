"""Tenants: a key never reads, lists, subscribes to, claims or changes another tenant's jobs,
and another tenant's job answers exactly like a job that does not exist."""

import asyncio
import uuid

import orjson
import pytest
from aiohttp import WSServerHandshakeError

from tests.ops.helpers import Scrape
from tests.security.conftest import bearer
from tests.service.helpers import error_of, ok

PER_JOB = [
    ("GET", "/jobs/{id}", None),
    ("GET", "/jobs/{id}?at_position=1", None),
    ("GET", "/jobs/{id}/events", None),
    ("GET", "/jobs/{id}/verify", None),
    ("GET", "/jobs/{id}/graph", None),
    ("GET", "/jobs/{id}/artifacts", None),
    ("GET", "/jobs/{id}/artifacts/a", None),
    ("POST", "/jobs/{id}/cancel", {}),
    ("DELETE", "/jobs/{id}", {}),
    ("POST", "/jobs/{id}/retry", {}),
    ("POST", "/jobs/{id}/start", {}),
    ("POST", "/jobs/{id}/progress", {"percent": 1}),
    ("POST", "/jobs/{id}/heartbeat", {"lease_token": "t"}),
    ("POST", "/jobs/{id}/release", {"lease_token": "t"}),
    ("POST", "/jobs/{id}/phases/p/start", {}),
    ("POST", "/jobs/{id}/complete", {}),
    ("POST", "/jobs/{id}/fail", {"error": {"message": "x"}}),
    ("POST", "/jobs/{id}/artifacts", {"name": "a", "data": {}}),
]


@pytest.fixture
async def tenants(secure, make_key):
    """An acme admin with one acme job, and a key of every role for globex."""
    acme = bearer(await make_key("admin", "acme"))
    job = await ok(await secure.post("/jobs", json={"type": "report", "phases": ["p"]}, headers=acme), 201)
    globex = {role: bearer(await make_key(role, "globex")) for role in ("client", "worker", "auditor", "admin")}
    return acme, job, globex


async def test_another_tenants_job_is_not_found_on_every_endpoint(secure, store, tenants):
    _, job, globex = tenants
    for role, key in globex.items():
        for method, path, body in PER_JOB:
            head = await store.log.head()
            foreign = await secure.request(method, path.format(id=job["id"]), json=body, headers=key)
            if foreign.status == 403:  # the role may not do this at all: refused before the job is looked at
                continue
            unknown = await secure.request(method, path.format(id=uuid.uuid4()), json=body, headers=key)
            assert foreign.status == unknown.status == 404, (role, method, path, await foreign.text())
            assert (await foreign.json())["error"]["code"] == (await unknown.json())["error"]["code"]
            assert await store.log.head() == head


async def test_another_tenants_job_is_no_parent_and_shows_in_no_graph(secure, store, tenants):
    acme, job, globex = tenants
    head = await store.log.head()
    alone = {"type": "audit", "depends_on": [job["id"]]}
    refused = await secure.post("/jobs", json=alone, headers=globex["admin"])
    assert refused.status == 400 and (await refused.json())["error"]["details"]["fields"] == [
        {"field": "depends_on.0", "reason": "no job with this id"}
    ]
    parents = ["a", {"job": job["id"], "on_failure": "run"}]
    batch = {"jobs": [{"type": "a", "ref": "a"}, {"type": "b", "depends_on": parents}]}
    refused = await secure.post("/jobs/batch", json=batch, headers=globex["admin"])
    assert refused.status == 400 and (await refused.json())["error"]["details"]["fields"] == [
        {"field": "jobs.1.depends_on.1", "reason": "no job with this id"}
    ]
    assert await store.log.head() == head
    child = await ok(await secure.post("/jobs", json=alone, headers=acme), 201)
    graph = await ok(await secure.get(f"/jobs/{job['id']}/graph", headers=acme))
    assert [c["id"] for c in graph["children"]] == [child["id"]]


async def test_lists_logs_and_stats_hold_only_the_callers_tenant(secure, tenants):
    acme, job, globex = tenants
    other = await ok(await secure.post("/jobs", json={"type": "invoice"}, headers=globex["admin"]), 201)
    assert [j["id"] for j in (await ok(await secure.get("/jobs", headers=globex["client"])))["jobs"]] == [other["id"]]
    assert [j["id"] for j in (await ok(await secure.get("/jobs", headers=acme)))["jobs"]] == [job["id"]]
    events = (await ok(await secure.get("/events", headers=globex["auditor"])))["events"]
    assert {e["job_id"] for e in events} == {other["id"]}
    assert all(e["metadata"]["tenant"] == "globex" for e in events)
    acme_events = (await ok(await secure.get("/events", headers=acme)))["events"]
    assert {e["job_id"] for e in acme_events} == {job["id"]}
    for _ in range(100):  # the stats projection runs behind the log
        stats = await ok(await secure.get("/stats", headers=globex["client"]))
        if stats["types"]:
            break
        await asyncio.sleep(0.05)
    assert set(stats["types"]) == {"invoice"}


async def test_a_long_poll_is_not_woken_by_another_tenants_jobs(secure, make_key, tenants):
    acme, _, globex = tenants

    operator = bearer(await make_key("operator", "ops"))

    async def claim_reads() -> float:
        metrics = await secure.get("/metrics", headers=operator)
        return Scrape(await metrics.text()).value("jobledger_claim_reads_total")

    async def acme_jobs_meanwhile():
        await asyncio.sleep(0.2)
        for _ in range(20):  # each one queued: a wake-up for acme's claims of "report"
            await ok(await secure.post("/jobs", json={"type": "report"}, headers=acme), 201)

    before = await claim_reads()
    body = {"worker_id": "g", "types": ["report"], "wait_seconds": 2.5}
    answer, _ = await asyncio.gather(
        secure.post("/workers/claim", json=body, headers=globex["worker"]), acme_jobs_meanwhile()
    )

    assert (await ok(answer))["jobs"] == []
    reads = await claim_reads() - before
    # its first read, one a second for jobs coming due, and its last: not one an acme job
    assert 1 <= reads <= 5, reads


async def test_claims_take_only_the_workers_tenants_jobs(secure, make_key, tenants):
    _, job, globex = tenants
    claimed = await ok(await secure.post("/workers/claim", json={"worker_id": "g", "limit": 10}, headers=globex["worker"]))
    assert claimed["jobs"] == []
    acme_worker = bearer(await make_key("worker", "acme"))
    claimed = await ok(await secure.post("/workers/claim", json={"worker_id": "a", "limit": 10}, headers=acme_worker))
    assert [j["id"] for j in claimed["jobs"]] == [job["id"]]


async def test_one_idempotency_key_in_two_tenants_makes_two_jobs(secure, tenants):
    acme, _, globex = tenants
    first = await ok(await secure.post("/jobs", json={"type": "r"}, headers={**acme, "Idempotency-Key": "k"}), 201)
    second = await ok(await secure.post("/jobs", json={"type": "r"}, headers={**globex["client"], "Idempotency-Key": "k"}), 201)
    assert first["id"] != second["id"] and second["tenant"] == "globex"


async def test_sockets_follow_only_the_callers_tenant(secure, tenants):
    acme, job, globex = tenants
    with pytest.raises(WSServerHandshakeError) as refused:
        await secure.ws_connect(f"/jobs/{job['id']}/ws", headers=globex["client"])
    assert refused.value.status == 404
    async with secure.ws_connect("/ws", headers=globex["client"]) as theirs, secure.ws_connect("/ws", headers=acme) as ours:
        for ws in (theirs, ours):
            await ws.send_str(orjson.dumps({"type": "subscribe", "all": True, "jobs": [job["id"]]}).decode())
            assert (await ws.receive_json(timeout=10))["type"] == "subscribed"
        await ok(await secure.post(f"/jobs/{job['id']}/cancel", json={}, headers=acme))
        other = await ok(await secure.post("/jobs", json={"type": "mine"}, headers=globex["admin"]), 201)
        seen = (await theirs.receive_json(timeout=10))
        assert seen["type"] == "event" and seen["job_id"] == other["id"]  # acme's cancel was never sent
        assert (await ours.receive_json(timeout=10))["job_id"] == job["id"]
        await theirs.send_str(orjson.dumps({"type": "subscribe", "jobs": [job["id"]], "after": 0}).decode())
        replayed = await theirs.receive_json(timeout=10)
        assert replayed["type"] == "subscribed"  # the replay from 0 held none of acme's events


async def test_a_key_limited_to_types_sees_and_takes_only_those(secure, make_key, tenants):
    acme, job, _ = tenants
    invoice = await ok(await secure.post("/jobs", json={"type": "invoice"}, headers=acme), 201)
    worker = bearer(await make_key("worker", "acme", ("invoice",)))
    details = await error_of(await secure.post("/workers/claim", json={"worker_id": "w", "types": ["report"]},
                                               headers=worker), 403, "forbidden")
    assert details["fields"][0]["field"] == "types.0"
    claimed = await ok(await secure.post("/workers/claim", json={"worker_id": "w", "limit": 10}, headers=worker))
    assert [j["id"] for j in claimed["jobs"]] == [invoice["id"]]
    await error_of(await secure.post(f"/jobs/{job['id']}/start", json={}, headers=worker), 404, "job_not_found")
    client = bearer(await make_key("client", "acme", ("invoice",)))
    await error_of(await secure.post("/jobs", json={"type": "report"}, headers=client), 403, "forbidden")
    assert [j["id"] for j in (await ok(await secure.get("/jobs", headers=client)))["jobs"]] == [invoice["id"]]
    await error_of(await secure.get("/events", headers=bearer(await make_key("auditor", "acme", ("invoice",)))),
                   403, "forbidden")


async def test_a_metadata_filter_lists_only_the_callers_tenants_jobs(secure, make_key):
    acme, globex = bearer(await make_key("admin", "acme")), bearer(await make_key("admin", "globex"))
    ours = await ok(await secure.post("/jobs", json={"type": "report", "metadata": {"user_id": "42"}}, headers=acme), 201)
    await ok(await secure.post("/jobs", json={"type": "report", "metadata": {"user_id": "42"}}, headers=globex), 201)

    assert await _listed(secure, acme, {"metadata.user_id": "42"}) == [ours["id"]]
    limited = bearer(await make_key("client", "acme", ("invoice",)))
    assert await _listed(secure, limited, {"metadata.user_id": "42"}) == []


async def _listed(client, headers: dict, params: dict) -> list[str]:
    return [j["id"] for j in (await ok(await client.get("/jobs", params=params, headers=headers)))["jobs"]]
