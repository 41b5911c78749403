"""Job types belong to a tenant, as jobs do: one tenant's schema, max_running or listing never
reaches another's, and figures across tenants are an operator's, not a tenant admin's."""

import orjson

from tests.ops.helpers import Scrape
from tests.security.conftest import bearer
from tests.service.helpers import bad_fields, error_of, ok

SCHEMA = {"type": "object", "required": ["n"]}


async def test_another_tenants_type_is_not_found_and_its_schema_does_not_apply(secure, make_key):
    """Defends against tenant A's admin registering a schema that refuses tenant B's jobs, and
    against GET /types showing A's schemas to B."""
    acme, globex = bearer(await make_key("admin", "acme")), bearer(await make_key("admin", "globex"))
    await ok(await secure.put("/types/report", json={"schema": SCHEMA}, headers=acme))

    assert (await ok(await secure.get("/types", headers=globex)))["types"] == []
    await error_of(await secure.get("/types/report", headers=globex), 404, "type_not_found")
    await ok(await secure.post("/jobs", json={"type": "report"}, headers=globex), 201)  # acme's schema is not globex's

    assert await bad_fields(await secure.post("/jobs", json={"type": "report"}, headers=acme)) == ["payload"]
    listed = (await ok(await secure.get("/types", headers=acme)))["types"]
    assert listed == [{"name": "report", "schema": SCHEMA, "status": "active", "paused_reason": None, "version": 1}]
    await ok(await secure.put("/types/report", json={"max_attempts": 2}, headers=globex))  # its own, same name
    assert (await ok(await secure.get("/types/report", headers=acme)))["schema"] == SCHEMA


async def test_max_running_holds_only_its_tenants_claims(secure, make_key):
    """Defends against tenant A's max_running blocking tenant B's claims, and B's running jobs
    counting against A's max_running."""
    acme, globex = bearer(await make_key("admin", "acme")), bearer(await make_key("admin", "globex"))
    await ok(await secure.put("/types/report", json={"max_running": 1}, headers=acme))
    for key in (acme, acme, globex, globex):
        await ok(await secure.post("/jobs", json={"type": "report"}, headers=key), 201)
    claim = {"worker_id": "w", "types": ["report"], "limit": 10}

    globex_all = await ok(await secure.post("/workers/claim", json=claim, headers=bearer(await make_key("worker", "globex"))))
    acme_first = await ok(await secure.post("/workers/claim", json=claim, headers=bearer(await make_key("worker", "acme"))))
    acme_more = await ok(await secure.post("/workers/claim", json=claim, headers=bearer(await make_key("worker", "acme"))))

    assert (len(acme_first["jobs"]), len(globex_all["jobs"]), len(acme_more["jobs"])) == (1, 2, 0)


async def test_cross_tenant_figures_are_for_operators_only(secure, make_key):
    """Defends against a tenant's admin reading every tenant's type names and counts in /metrics
    and /health, and against an operator key reading tenants' jobs."""
    acme = bearer(await make_key("admin", "acme"))
    await ok(await secure.post("/jobs", json={"type": "acme-secret-type"}, headers=acme), 201)
    globex_admin = bearer(await make_key("admin", "globex"))
    operator = bearer(await make_key("operator", "ops"))

    details = await error_of(await secure.get("/metrics", headers=globex_admin), 403, "forbidden")
    assert details["role"] == "admin"
    assert "queues" not in await ok(await secure.get("/health", headers=globex_admin))

    metrics = Scrape(await (await secure.get("/metrics", headers=operator)).text())
    assert metrics.value("jobledger_jobs", type="acme-secret-type", status="queued") == 1
    health = await ok(await secure.get("/health", headers=operator))
    assert health["queues"]["acme-secret-type"]["queued"] == 1
    for path in ("/jobs", "/types", "/stats", "/events"):
        await error_of(await secure.get(path, headers=operator), 403, "forbidden")


async def test_the_types_file_registers_the_default_tenants_types(serve, secure_settings, make_key, tmp_path):
    """Defends against the start-up types file applying to every tenant."""
    path = tmp_path / "types.json"
    path.write_bytes(orjson.dumps({"report": {"schema": SCHEMA}}))
    service = await serve(secure_settings.model_copy(update={"types_file": str(path)}))
    default, acme = bearer(await make_key("client", "default")), bearer(await make_key("client", "acme"))

    assert [t["name"] for t in (await ok(await service.get("/types", headers=default)))["types"]] == ["report"]
    assert await bad_fields(await service.post("/jobs", json={"type": "report"}, headers=default)) == ["payload"]
    await error_of(await service.get("/types/report", headers=acme), 404, "type_not_found")
    await ok(await service.post("/jobs", json={"type": "report"}, headers=acme), 201)


async def test_a_pause_holds_only_its_tenants_jobs_and_only_an_admin_pauses(secure, make_key):
    """Defends against tenant A's admin pausing tenant B's queue (same type name), against a
    client or worker key pausing a type, and against B reading A's type history."""
    acme, globex = bearer(await make_key("admin", "acme")), bearer(await make_key("admin", "globex"))
    for key in (acme, globex):
        await ok(await secure.post("/jobs", json={"type": "report"}, headers=key), 201)
    for role in ("client", "worker", "auditor"):
        await error_of(await secure.post("/types/report/pause", json={}, headers=bearer(await make_key(role, "acme"))),
                       403, "forbidden")

    await ok(await secure.post("/types/report/pause", json={"reason": "acme's API is down"}, headers=acme))

    claim = {"worker_id": "w", "types": ["report"], "limit": 10}
    globex_jobs = await ok(await secure.post("/workers/claim", json=claim, headers=bearer(await make_key("worker", "globex"))))
    acme_jobs = await ok(await secure.post("/workers/claim", json=claim, headers=bearer(await make_key("worker", "acme"))))
    assert (len(globex_jobs["jobs"]), len(acme_jobs["jobs"])) == (1, 0)
    assert (await ok(await secure.get("/stats", headers=globex)))["paused"] == []
    await error_of(await secure.get("/types/report/events", headers=globex), 404, "type_not_found")
    assert [e["type"] for e in (await ok(await secure.get("/types/report/events", headers=acme)))["events"]] == ["TypePaused"]
    page = await ok(await secure.get("/events", headers=globex, params={"after": 0}))
    assert "TypePaused" not in [e["type"] for e in page["events"]]  # acme's pause is acme's log
