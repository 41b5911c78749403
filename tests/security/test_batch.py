"""POST /jobs/batch under API keys: a key's types bind every job of a batch, and its tenant owns them."""

from tests.security.conftest import bearer
from tests.service.helpers import error_of, ok


async def test_a_key_limited_to_types_cannot_slip_another_into_a_batch(secure, make_key):
    key = bearer(await make_key("client", "acme", ("report",)))

    resp = await secure.post("/jobs/batch", json={"jobs": [{"type": "report"}, {"type": "invoice"}]}, headers=key)

    details = await error_of(resp, 403, "forbidden")
    assert [f["field"] for f in details["fields"]] == ["jobs.1.type"]
    assert (await ok(await secure.get("/jobs", headers=key)))["jobs"] == []


async def test_the_jobs_of_a_batch_are_the_keys_tenants(secure, make_key):
    acme, globex = bearer(await make_key("client", "acme")), bearer(await make_key("client", "globex"))
    same = {"jobs": [{"type": "report", "idempotency_key": "k"}]}

    mine = await ok(await secure.post("/jobs/batch", json=same, headers=acme), 201)
    theirs = await ok(await secure.post("/jobs/batch", json=same, headers=globex), 201)

    assert [j["tenant"] for j in mine["jobs"] + theirs["jobs"]] == ["acme", "globex"]
    assert mine["jobs"][0]["id"] != theirs["jobs"][0]["id"]
    listed = await ok(await secure.get("/jobs", headers=acme))
    assert [j["id"] for j in listed["jobs"]] == [mine["jobs"][0]["id"]]
