"""Each role does what the issue gives it and nothing else: clients create, read and cancel;
workers claim and report; auditors read history and verify; admins do everything in their
tenant; operators read the service-wide figures (/metrics) and no tenant's jobs.
A refused request answers 403 and changes nothing."""

import pytest

from tests.security.conftest import bearer
from tests.service.helpers import error_of

ALL = {"client", "worker", "auditor", "admin"}  # every role that acts in a tenant
OPERATOR = {"operator"}
CLIENT, WORKER, AUDITOR, ADMIN = {"client", "admin"}, {"worker", "admin"}, {"auditor", "admin"}, {"admin"}

# (method, path, body, roles allowed) — written out from the issue, not read from the code
MATRIX = [
    ("POST", "/jobs", {"type": "report"}, CLIENT),
    ("GET", "/jobs", None, ALL),
    ("GET", "/jobs/{id}", None, ALL),
    ("GET", "/jobs/{id}/artifacts", None, ALL),
    ("GET", "/stats", None, ALL),
    ("GET", "/types", None, ALL),
    ("POST", "/jobs/{id}/cancel", {}, CLIENT),
    ("DELETE", "/jobs/{id}", {}, CLIENT),
    ("POST", "/jobs/{id}/retry", {}, CLIENT),
    ("POST", "/workers/claim", {"worker_id": "w", "types": ["nothing-queued"]}, WORKER),
    ("POST", "/jobs/{id}/start", {}, WORKER),
    ("POST", "/jobs/{id}/progress", {"percent": 1}, WORKER),
    ("POST", "/jobs/{id}/progress", {"message": "waiting for a slot"}, WORKER),  # the job is queued: no lease
    ("POST", "/jobs/{id}/heartbeat", {"lease_token": "t"}, WORKER),
    ("POST", "/jobs/{id}/release", {"lease_token": "t"}, WORKER),
    ("POST", "/jobs/{id}/phases/p/start", {}, WORKER),
    ("POST", "/jobs/{id}/phases/p/complete", {}, WORKER),
    ("POST", "/jobs/{id}/phases/p/fail", {"error": {"message": "x"}}, WORKER),
    ("POST", "/jobs/{id}/complete", {}, WORKER),
    ("POST", "/jobs/{id}/fail", {"error": {"message": "x"}}, WORKER),
    ("POST", "/jobs/{id}/artifacts", {"name": "a", "data": {}}, WORKER),
    ("GET", "/jobs/{id}/events", None, {"client", "auditor", "admin"}),
    ("GET", "/jobs/{id}/verify", None, {"client", "auditor", "admin"}),
    ("GET", "/events", None, AUDITOR),
    ("PUT", "/types/report", {}, ADMIN),
    ("GET", "/metrics", None, OPERATOR),
]


@pytest.mark.parametrize("role", sorted(ALL | OPERATOR))
async def test_each_role_may_do_exactly_its_part(secure, store, make_key, role):
    admin = bearer(await make_key("admin"))
    job = await (await secure.post("/jobs", json={"type": "report", "phases": ["p"]}, headers=admin)).json()
    key = bearer(await make_key(role))
    for method, path, body, allowed in MATRIX:
        head = await store.log.head()
        resp = await secure.request(method, path.format(id=job["id"]), json=body, headers=key)
        if role in allowed:
            assert resp.status not in (401, 403), (role, method, path, await resp.text())
        else:
            details = await error_of(resp, 403, "forbidden")
            assert details["role"] == role, (method, path)
            assert await store.log.head() == head, f"a refused {method} {path} appended events"
