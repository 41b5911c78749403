"""A traceparent is a caller's input: a malformed or oversized one is ignored (never a 500,
never stored), a tracestate is bounded, and a tenant never sees another's trace context."""

import pytest

from tests.security.conftest import bearer, make_key, secure, secure_settings  # noqa: F401 - fixtures
from tests.sdk.helpers import history

GOOD = "00-" + "a1" * 16 + "-" + "b2" * 8 + "-01"
MALFORMED = {
    "not one": "garbage",
    "zero trace id": "00-" + "0" * 32 + "-" + "b2" * 8 + "-01",
    "zero span id": "00-" + "a1" * 16 + "-" + "0" * 16 + "-01",
    "version ff": "ff-" + "a1" * 16 + "-" + "b2" * 8 + "-01",
    "upper case": "00-" + "A1" * 16 + "-" + "B2" * 8 + "-01",
    "version 00 with more": GOOD + "-more",
    "short trace id": "00-" + "a1" * 15 + "-" + "b2" * 8 + "-01",
    "JSON in it": '00-"},"actor":"admin"-01',
    "too long (a later version may add fields)": "01" + GOOD[2:] + "-" + "x" * 600,
}


async def _created(client, headers: dict[str, str]) -> dict:
    resp = await client.post("/jobs", json={"type": "report"}, headers=headers)
    assert resp.status == 201, await resp.text()
    return (await history(client, (await resp.json())["id"]))[0]["metadata"]


@pytest.mark.parametrize("header", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_traceparent_is_ignored(client, spans, caplog, header):
    meta = await _created(client, {"traceparent": header, "tracestate": "vendor=kept"})
    assert "traceparent" not in caplog.text  # not even a line logged: a caller could fill the logs
    (served,) = [s for s in spans() if s.name == "POST /jobs"]
    assert served.parent is None  # a trace of the service's own, not a child of the bad header
    assert meta["traceparent"].split("-")[1] == f"{served.context.trace_id:032x}" != "a1" * 16
    assert "tracestate" not in meta  # it goes with its traceparent


async def test_a_valid_tracestate_is_kept_and_an_oversized_or_invalid_one_dropped(client, spans):
    assert (await _created(client, {"traceparent": GOOD, "tracestate": "vendor=kept,other=too"}))["tracestate"] == (
        "vendor=kept,other=too"
    )
    members = ",".join(f"k{n}=" + "x" * 16 for n in range(30))  # 30 valid members (W3C: up to 32), 600 characters
    for state in (members, "v=" + "x" * 600, "not a=tracestate"):
        meta = await _created(client, {"traceparent": GOOD, "tracestate": state})
        assert meta["traceparent"].split("-")[1] == "a1" * 16 and "tracestate" not in meta


async def test_a_tenants_claim_carries_only_its_own_jobs_traces(secure, make_key, spans):
    acme, globex = bearer(await make_key("admin", "acme")), bearer(await make_key("admin", "globex"))
    made = await secure.post("/jobs", json={"type": "report"}, headers={**acme, "traceparent": GOOD})
    theirs = await secure.post("/jobs", json={"type": "report"}, headers=globex)
    assert made.status == theirs.status == 201
    claim = await secure.post("/workers/claim", json={"worker_id": "w", "limit": 10}, headers=globex)
    (job,) = (await claim.json())["jobs"]
    assert job["id"] == (await theirs.json())["id"] and "a1" * 16 not in job["traceparent"]
    assert (await secure.get(f"/jobs/{(await made.json())['id']}/events", headers=globex)).status == 404
    claim = await secure.post("/workers/claim", json={"worker_id": "w", "limit": 10}, headers=acme)
    assert [j["traceparent"].split("-")[1] for j in (await claim.json())["jobs"]] == ["a1" * 16]
