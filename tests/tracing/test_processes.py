"""`jobledger serve` as configured (README, Traces): with no exporter the API is a no-op and the
caller's traceparent itself is kept and handed on; JOBLEDGER_OTEL_EXPORTER=console prints spans."""

import os

import aiohttp

from tests.live.processes import Service

CALLER = "00-" + "c3" * 16 + "-" + "d4" * 8 + "-01"


async def _create_and_claim(url: str) -> tuple[dict, dict]:
    async with aiohttp.ClientSession(url) as session:
        async with session.post("/jobs", json={"type": "report"}, headers={"traceparent": CALLER}) as resp:
            assert resp.status == 201, await resp.text()
            job = await resp.json()
        async with session.get(f"/jobs/{job['id']}/events") as resp:
            created = (await resp.json())["events"][0]["metadata"]
        async with session.post("/workers/claim", json={"worker_id": "w"}) as resp:
            (claimed,) = (await resp.json())["jobs"]
    return created, claimed


async def test_without_an_exporter_the_callers_traceparent_is_kept_and_handed_on(db_url, tmp_path):
    service = await Service(db_url, tmp_path).start()
    try:
        created, claimed = await _create_and_claim(service.url)
        async with aiohttp.ClientSession(service.url) as session:
            bad = await session.post("/jobs", json={"type": "report"}, headers={"traceparent": CALLER.upper()})
            assert bad.status == 201
            async with session.get(f"/jobs/{(await bad.json())['id']}/events") as resp:
                unkept = (await resp.json())["events"][0]["metadata"]
    finally:
        await service.stop()
    assert created["traceparent"] == claimed["traceparent"] == CALLER
    assert "traceparent" not in unkept  # a malformed one is not stored, and the service made no trace of its own


async def test_the_console_exporter_prints_the_services_spans(db_url, tmp_path):
    env = {**os.environ, "JOBLEDGER_OTEL_EXPORTER": "console"}
    service = await Service(db_url, tmp_path, env=env).start()
    try:
        created, claimed = await _create_and_claim(service.url)
    finally:
        await service.stop()  # the spans still buffered are exported
    assert created["traceparent"] == claimed["traceparent"] != CALLER  # the service's own span, a child of it
    assert created["traceparent"].split("-")[1] == "c3" * 16
    printed = service.log_path.read_text()
    assert '"name": "POST /jobs"' in printed and '"name": "jobledger.claimed"' in printed
    assert f'"span_id": "0x{created["traceparent"].split("-")[2]}"' in printed
